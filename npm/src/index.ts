/**
 * `@tollgate/client`, one entry point for browsers, bundlers and Node: importing it compiles
 * the embedded wasm (and never fails; see `wasm.ts`). This module only re-exports; each area
 * lives in its own file.
 */
import './init.js';

export * from './api.js';
