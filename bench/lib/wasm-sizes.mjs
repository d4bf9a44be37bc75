// A per-function and per-section size listing of a wasm module, read straight from the
// binary (the name section gives function names; nothing else is needed). Used for "what
// dominates the Worker's size" instead of twiggy, which would have to be compiled here.
import { readFileSync } from 'node:fs';

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount', 'tag'];

function reader(buf) {
  let pos = 0;
  const r = {
    get pos() { return pos; },
    set pos(p) { pos = p; },
    byte: () => buf[pos++],
    u32() {
      let result = 0, shift = 0, b;
      do { b = buf[pos++]; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
      return result >>> 0;
    },
    name() { const len = r.u32(); const s = buf.toString('utf8', pos, pos + len); pos += len; return s; },
  };
  return r;
}

/**
 * @returns {{total:number, sections: {name:string, bytes:number}[], functions: {index:number, name:string, bytes:number}[], dataBytes:number, targetFeatures:string[]}}
 */
export function wasmSizes(path) {
  const buf = readFileSync(path);
  const r = reader(buf);
  r.pos = 8;
  const sections = [];
  let importedFunctions = 0;
  const bodySizes = [];
  const names = new Map();
  let dataBytes = 0;
  const targetFeatures = [];
  while (r.pos < buf.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    let name = SECTION_NAMES[id] ?? `unknown-${id}`;
    if (id === 0) {
      name = `custom:${r.name()}`;
      if (name === 'custom:target_features') {
        const count = r.u32();
        for (let i = 0; i < count; i++) { const prefix = String.fromCharCode(r.byte()); targetFeatures.push(prefix + r.name()); }
      }
      if (name === 'custom:name') {
        while (r.pos < start + size) {
          const sub = r.byte();
          const subSize = r.u32();
          const subEnd = r.pos + subSize;
          if (sub === 1) {
            const count = r.u32();
            for (let i = 0; i < count; i++) { const idx = r.u32(); names.set(idx, r.name()); }
          }
          r.pos = subEnd;
        }
      }
    } else if (id === 2) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        r.name(); r.name();
        const kind = r.byte();
        if (kind === 0) { r.u32(); importedFunctions++; }
        else if (kind === 1) { r.byte(); const flags = r.u32(); r.u32(); if (flags & 1) r.u32(); }
        else if (kind === 2) { const flags = r.u32(); r.u32(); if (flags & 1) r.u32(); }
        else if (kind === 3) { r.byte(); r.byte(); }
        else if (kind === 4) { r.byte(); r.u32(); }
      }
    } else if (id === 10) {
      const count = r.u32();
      for (let i = 0; i < count; i++) { const len = r.u32(); bodySizes.push(len + 1); r.pos += len; }
    } else if (id === 11) {
      dataBytes = size;
    }
    sections.push({ name, bytes: size });
    r.pos = start + size;
  }
  const functions = bodySizes.map((bytes, i) => {
    const index = importedFunctions + i;
    return { index, name: names.get(index) ?? `function[${index}]`, bytes };
  });
  return { total: buf.length, sections, functions, dataBytes, targetFeatures };
}

/** The crate a (demangled) Rust function name belongs to, as well as a name can tell. */
export function crateOf(name) {
  // Mangled names (cargo's own output keeps them): the first crate named in the symbol.
  if (name.startsWith('_R')) {
    const m = /C(?:s[0-9A-Za-z]*_)?(\d+)/.exec(name);
    if (m) return name.substr(m.index + m[0].length, Number(m[1]));
  }
  if (name.startsWith('_ZN')) return crateOf(demangleLegacy(name));
  const n = name.replace(/\[[0-9a-f]{16}\]/g, '');
  if (/^__wbg|^__wbindgen|^wasm_bindgen|^__externref/.test(n)) return 'wasm_bindgen';
  // `<X as Trait>::f`: X's crate when X is a path, else (a generic or a primitive) the trait's.
  const qualified = /^<(?:&mut |&|\*const |\*mut |dyn )?([^<> ]+)(?:<.*?>)? as ([^<> ]+)/.exec(n);
  if (qualified) {
    const [, self, trait] = qualified;
    const selfCrate = self.includes('::') ? self.split('::')[0] : null;
    const head = selfCrate && !['core', 'alloc', 'std'].includes(selfCrate) ? selfCrate : trait.split('::')[0];
    return head;
  }
  const plain = /^<?(?:&mut |&|\*const |\*mut |dyn )?([A-Za-z_][A-Za-z0-9_]*)(?:::|>)/.exec(n);
  if (!plain) return 'unnamed (compiler helpers)';
  // Methods of primitive types (`<str>::to_lowercase`) are core's.
  return ['str', 'char', 'bool', 'u8', 'u16', 'u32', 'u64', 'u128', 'usize', 'i8', 'i16', 'i32', 'i64', 'i128', 'isize', 'f32', 'f64'].includes(plain[1]) ? 'core' : plain[1];
}

const STD = ['core', 'alloc', 'std'];

/**
 * Like crateOf, but generic standard-library code instantiated for another crate's types
 * (`core::ptr::drop_in_place<tollgate_worker::...>`) is counted for that crate: it is there
 * because that crate uses it.
 */
export function owningCrate(name) {
  const crate = crateOf(name);
  if (!STD.includes(crate)) return crate;
  const clean = name.replace(/\[[0-9a-f]{16}\]/g, '');
  const args = clean.slice(clean.indexOf('<') + 1);
  if (clean.indexOf('<') < 0) return crate;
  // Paths that start inside the generic arguments, not modules of the outer path.
  for (const m of args.matchAll(/(?:^|[<\s&,(*])([a-z_][a-z0-9_]*)::/g)) {
    if (!STD.includes(m[1])) return m[1];
  }
  return crate;
}

/** A legacy-mangled Rust symbol (`_ZN...E`) as a readable path, hash dropped. */
export function demangleLegacy(symbol) {
  const parts = [];
  let i = 3;
  while (i < symbol.length && symbol[i] !== 'E') {
    const m = /^\d+/.exec(symbol.slice(i));
    if (!m) break;
    i += m[0].length;
    parts.push(symbol.substr(i, Number(m[0])));
    i += Number(m[0]);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? '')) parts.pop();
  const codes = { LT: '<', GT: '>', RF: '&', BP: '*', C: ',', SP: '@', LP: '(', RP: ')' };
  return parts.join('::').replace(/^_\$/, '$').replace(/::_\$/g, '::$')
    .replace(/\$([A-Z]{1,2})\$/g, (all, c) => codes[c] ?? all)
    .replace(/\$u([0-9a-f]{2})\$/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\.\./g, '::');
}

/** Function bytes grouped by the crate that owns them (see owningCrate), largest first. */
export function byCrate(functions) {
  const totals = new Map();
  for (const f of functions) {
    // wasm-bindgen's type descriptions are run at build time and removed from what ships.
    if (/describe/.test(f.name)) continue;
    const crate = owningCrate(f.name.startsWith('_ZN') ? demangleLegacy(f.name) : f.name);
    const t = totals.get(crate) ?? { crate, bytes: 0, functions: 0 };
    t.bytes += f.bytes; t.functions++;
    totals.set(crate, t);
  }
  return [...totals.values()].sort((a, b) => b.bytes - a.bytes);
}

/**
 * The module with the named sections left out ('custom:name', 'data', ...), as bytes: for
 * telling how much of the gzipped size each section accounts for. (Not a loadable module
 * once 'data' or 'code' is removed; only ever measured.)
 */
export function withoutSections(path, drop) {
  const buf = readFileSync(path);
  const r = reader(buf);
  r.pos = 8;
  const keep = [buf.subarray(0, 8)];
  while (r.pos < buf.length) {
    const begin = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    let name = SECTION_NAMES[id] ?? `unknown-${id}`;
    if (id === 0) name = `custom:${r.name()}`;
    if (!drop.includes(name)) keep.push(buf.subarray(begin, start + size));
    r.pos = start + size;
  }
  return Buffer.concat(keep);
}
