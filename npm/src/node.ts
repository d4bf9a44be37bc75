/**
 * `@tollgate/client` for Node (SSR, scripts, tests): the wasm is read from disk synchronously.
 * This module only re-exports; each area lives in its own file.
 */
import './init-node.js';

export * from './api.js';
