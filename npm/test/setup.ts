// Loads the real wasm, built by `make client` into npm/wasm/, for the unit tests that import
// single modules (the package's entry point embeds the same bytes; test/unavailable.test.ts
// covers that path).
import { readFileSync } from 'node:fs';
import { initSync } from '../wasm/tollgate_client.js';
import { load } from '../src/wasm.js';

load(() => initSync({ module: readFileSync(new URL('../wasm/tollgate_client_bg.wasm', import.meta.url)) }));
