/**
 * Loads the wasm in Node (SSR, scripts, tests): read from disk next to this file and compiled
 * synchronously, without `fetch(file://)`. @internal
 */
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/tollgate_client.js';
import { bind } from './wasm.js';

bind(initSync({ module: readFileSync(new URL('./wasm/tollgate_client_bg.wasm', import.meta.url)) }));
