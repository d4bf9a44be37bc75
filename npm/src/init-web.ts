/**
 * Loads the wasm in browsers and bundlers: fetched from next to this file (bundlers such as
 * Vite rewrite the `new URL(..., import.meta.url)` to the emitted asset), compiled while it
 * streams. The top-level `await` means importing the package resolves once it is ready, so
 * every export is usable synchronously afterwards. @internal
 */
import init from './wasm/tollgate_client.js';
import { bind } from './wasm.js';

bind(await init({ module_or_path: new URL('./wasm/tollgate_client_bg.wasm', import.meta.url) }));
