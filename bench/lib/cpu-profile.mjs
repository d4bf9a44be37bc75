// A V8 CPU profile of a Worker under load, through wrangler dev's inspector (the Chrome
// DevTools protocol), summarised as self time per function, so that a missed goal can name
// what dominates the cost from a profile rather than a guess. Wasm functions carry their Rust
// names (the Worker's wasm keeps its name section).
import WebSocket from 'ws';

/**
 * Profiles the Worker behind `server` (started by servers.mjs, which records its inspector
 * port) while `during()` runs.
 * @returns {Promise<{total_ms:number, by_kind: Record<string, number>, top: {name:string, kind:string, self_ms:number, share:number}[]}>}
 */
export async function profileWhile(server, during, { samplingIntervalUs = 200, top = 25 } = {}) {
  const targets = await (await fetch(`http://127.0.0.1:${server.inspectorPort}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  if (!target) throw new Error('no inspector target');
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  const send = (method, params = {}) => new Promise((ok, fail) => {
    const n = ++id;
    pending.set(n, (msg) => (msg.error ? fail(new Error(`${method}: ${msg.error.message}`)) : ok(msg.result)));
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  try {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await send('Profiler.start');
    const result = await during();
    const { profile } = await send('Profiler.stop');
    const summary = summarise(profile, top);
    // Anonymous JavaScript gets a name from its source: the first characters at its position.
    await send('Debugger.enable');
    const sources = new Map();
    for (const row of summary.top) {
      if (row.kind !== 'JavaScript' || !row.scriptId || row.scriptId === '0') continue;
      try {
        if (!sources.has(row.scriptId)) sources.set(row.scriptId, (await send('Debugger.getScriptSource', { scriptId: row.scriptId })).scriptSource);
        const lines = sources.get(row.scriptId).split('\n');
        const text = lines[row.line] ?? '';
        // From a little before the function (where a minified property name or `function x` stands).
        row.source = text.slice(Math.max(0, row.column - 48), row.column + 60);
        // wasm-bindgen's imports are anonymous functions under `__wbg_<what>_<hash>:` keys: name
        // them, so a profile says which call from the Rust code into JavaScript is hot.
        const before = text.slice(Math.max(0, row.column - 160), row.column);
        const key = [...before.matchAll(/(__wbg_[A-Za-z0-9_]+?|__wbindgen_[A-Za-z0-9_]+?)(?:_[0-9a-f]{16})?\s*:/g)].at(-1);
        if (row.name === '(anonymous)' && key && before.length - key.index - key[0].length < 60) {
          row.name = `${key[1]} (wasm-bindgen import)`;
        }
      } catch { /* a native or already collected script */ }
    }
    for (const row of summary.top) { delete row.scriptId; }
    return { result, summary };
  } finally {
    ws.close();
  }
}

function kindOf(frame) {
  const { functionName: name, url } = frame;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)' || name === '(root)') return 'runtime (workerd/V8 native, not JS)';
  if (url.startsWith('wasm://') || /^\$?func\d+|::/.test(name)) return 'wasm';
  return 'JavaScript';
}

/** Self time per function of a V8 CPU profile (Profiler.stop's result), top `top` rows. */
export function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000; // ms
    const f = node.callFrame;
    const key = [f.functionName || '(anonymous)', kindOf(f), f.url.split('/').pop(), f.scriptId, f.lineNumber, f.columnNumber].join('\u0000');
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const rows = [...self.entries()].map(([k, ms]) => {
    const [name, kind, file, scriptId, line, column] = k.split('\u0000');
    return { name, kind, file, scriptId, line: Number(line), column: Number(column), self_ms: ms };
  });
  const busy = rows.filter((r) => r.kind !== 'idle');
  const total = busy.reduce((a, r) => a + r.self_ms, 0);
  const byKind = {};
  for (const r of busy) byKind[r.kind] = (byKind[r.kind] ?? 0) + r.self_ms;
  return {
    busy_ms: Math.round(total),
    by_kind_share: Object.fromEntries(Object.entries(byKind).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / total).toFixed(3))])),
    top: busy.sort((a, b) => b.self_ms - a.self_ms).slice(0, top)
      .map((r) => ({ name: r.name.slice(0, 140), kind: r.kind, file: r.file, scriptId: r.scriptId, line: r.line, column: r.column, share: Number((r.self_ms / total).toFixed(3)) })),
  };
}
