/**
 * `@tollgate/client` for browsers and bundlers: the wasm is fetched from next to this file
 * before the module resolves. This module only re-exports; each area lives in its own file.
 */
import './init-web.js';

export * from './api.js';
