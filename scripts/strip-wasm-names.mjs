// Removes the `name` custom section from a wasm module, in place, byte for byte.
//
// worker-build asks wasm-opt to keep function names (`--debuginfo`) so that panics print
// readable stack traces. They are about an eighth of the Worker's gzipped upload and nothing
// reads them at run time, so release builds drop them (scripts/build-worker.sh); set
// TOLLGATE_KEEP_WASM_NAMES=1 when you need the names to debug a panic. Only the custom section
// is cut out: every other byte of the module is left exactly as wasm-opt wrote it.
import { readFileSync, writeFileSync } from 'node:fs';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

function leb128(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

export function stripNames(wasm) {
  if (MAGIC.some((b, i) => wasm[i] !== b)) throw new Error('not a wasm module');
  const kept = [wasm.subarray(0, 8)];
  let removed = 0;
  for (let at = 8; at < wasm.length;) {
    const start = at;
    const id = wasm[at++];
    const [size, body] = leb128(wasm, at);
    const end = body + size;
    if (end > wasm.length) throw new Error('truncated section');
    let isName = false;
    if (id === 0) {
      const [len, nameAt] = leb128(wasm, body);
      isName = Buffer.from(wasm.subarray(nameAt, nameAt + len)).toString('utf8') === 'name';
    }
    if (isName) removed += end - start;
    else kept.push(wasm.subarray(start, end));
    at = end;
  }
  return { bytes: Buffer.concat(kept), removed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    const { bytes, removed } = stripNames(readFileSync(file));
    writeFileSync(file, bytes);
    console.log(`strip-wasm-names: ${file}: removed ${removed} bytes of function names`);
  }
}
