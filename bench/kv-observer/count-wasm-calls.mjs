// Counts the calls Tollgate's wasm makes into JavaScript (wasm-bindgen's imports), for the
// "calls out of the wasm per request" column of BENCHMARKS.md section 7. Each such call
// crosses the wasm boundary and most copy a string one way or the other; a profile showed
// them as a large share of the Worker's own time per request.
//
// Imported by entry.mjs before the built Worker, so that it runs first: it replaces
// `WebAssembly.Instance` with one that wraps every imported function in a counter, and the
// Worker's glue (worker/build/index.js, unchanged) instantiates its wasm through it.
export const wasmCalls = { total: 0, byName: new Map() };

const Instance = WebAssembly.Instance;

/** `__wbg_set_3f1d0b984ed272ed` → `set`: wasm-bindgen's import name without its hash. */
function shortName(name) {
  return name.replace(/^__wbg_|^__wbindgen_/, '').replace(/_[0-9a-f]{16}$/, '');
}

function counted(imports) {
  const out = {};
  for (const [module, fns] of Object.entries(imports ?? {})) {
    out[module] = {};
    for (const [name, f] of Object.entries(fns)) {
      if (typeof f !== 'function') { out[module][name] = f; continue; }
      const key = shortName(name);
      out[module][name] = function countedImport(...args) {
        wasmCalls.total += 1;
        wasmCalls.byName.set(key, (wasmCalls.byName.get(key) ?? 0) + 1);
        return f.apply(this, args);
      };
    }
  }
  return out;
}

WebAssembly.Instance = function CountingInstance(module, imports) {
  return new Instance(module, counted(imports));
};
WebAssembly.Instance.prototype = Instance.prototype;

/** The calls made since `before` (a snapshot), by name, largest first. */
export function callsSince(before) {
  const byName = {};
  for (const [name, n] of wasmCalls.byName) {
    const d = n - (before.byName.get(name) ?? 0);
    if (d > 0) byName[name] = d;
  }
  return { total: wasmCalls.total - before.total, byName: Object.fromEntries(Object.entries(byName).sort((a, b) => b[1] - a[1])) };
}

/** A snapshot of the counters, for `callsSince`. */
export function snapshot() {
  return { total: wasmCalls.total, byName: new Map(wasmCalls.byName) };
}
