/**
 * The compiled Rust core, once loaded.
 *
 * Its bytes travel inside the package's JavaScript (`wasm/tollgate_client_bytes.js`, written
 * at build time), so loading never fetches anything and never depends on how a bundler treats
 * assets: Vite inlines small assets as `data:` URLs, which a `default-src 'self'` policy
 * refuses, and esbuild does not emit them at all. The entry point compiles them synchronously
 * on import, without a top-level `await` (4 KB compile in well under a millisecond, far inside
 * every engine's main-thread limit); a Content-Security-Policy needs `'wasm-unsafe-eval'`
 * only.
 *
 * A failure to compile (a policy without `'wasm-unsafe-eval'`, an engine without
 * WebAssembly) is recorded, never thrown: importing the package cannot take an app down.
 * Every call that needs the module then throws `client_unavailable`, with the engine's error
 * as its `cause`. @internal
 */
import * as glue from './wasm/tollgate_client.js';
import type { InitOutput } from './wasm/tollgate_client.js';
import { AuthError } from './errors.js';

let loaded: InitOutput | undefined;
let failure: { error: unknown } | undefined;
let view: Uint8Array | undefined;

/** Runs `instantiate` once (called by the entry point), recording its module or its failure. @internal */
export function load(instantiate: () => InitOutput): void {
  if (loaded !== undefined) return;
  try {
    loaded = instantiate();
    failure = undefined;
  } catch (error) {
    failure = { error };
  }
}

/**
 * The instantiated module.
 * @throws {AuthError} `client_unavailable` when it failed to load, or was never loaded. @internal
 */
export function wasm(): InitOutput {
  if (loaded !== undefined) return loaded;
  if (failure === undefined) {
    throw new AuthError('client_unavailable', '@tollgate/client: the wasm module is not loaded; import the package entry point (not a file inside it).');
  }
  throw new AuthError(
    'client_unavailable',
    "The sign-in client could not start: its WebAssembly module did not compile. A Content-Security-Policy must allow 'wasm-unsafe-eval' in script-src.",
    { cause: failure.error },
  );
}

/**
 * Throws unless the module is loaded: the client calls this first in every method, so that a
 * client that could not start fails before any request (a login it could not read the answer
 * of would still open a session on the server). @throws {AuthError} `client_unavailable`. @internal
 */
export function ready(): void {
  wasm();
}

/** wasm-bindgen's wrappers of the module's exports, once it is loaded. @throws {AuthError} `client_unavailable`. @internal */
export function core(): typeof glue {
  wasm();
  return glue;
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
