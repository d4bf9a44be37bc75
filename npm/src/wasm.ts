/**
 * The compiled Rust core, once loaded.
 *
 * The entry points load it before anything else runs: `index.ts` (browsers and bundlers)
 * fetches the `.wasm` file next to it with a top-level `await`; `node.ts` reads it from disk
 * synchronously, so Node never depends on `fetch(file://)`. Everything else reaches the
 * module through {@link wasm}. @internal
 */
import type { InitOutput } from './wasm/tollgate_client.js';
import { AuthError } from './errors.js';

let loaded: InitOutput | undefined;
let view: Uint8Array | undefined;

/** Records the instantiated module (called once by an entry point). @internal */
export function bind(output: InitOutput): void {
  loaded = output;
}

/** The instantiated module; throws `internal_error` before an entry point loaded it. @internal */
export function wasm(): InitOutput {
  if (loaded === undefined) {
    throw new AuthError(
      'internal_error',
      '@tollgate/client: the wasm module is not loaded; import the package entry point (not a file inside it).',
    );
  }
  return loaded;
}

/**
 * The module's scratch buffer (where tokens are written for decoding) as bytes, re-created if
 * the memory grew (growing detaches the old buffer). The client never allocates, so in
 * practice this is built once. @internal
 */
export function scratch(): Uint8Array {
  const module = wasm();
  const buffer = module.memory.buffer;
  if (view === undefined || view.buffer !== buffer) view = new Uint8Array(buffer, module.scratch(), module.scratchCapacity());
  return view;
}
