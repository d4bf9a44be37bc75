// Loads the real wasm, built by `make client` into npm/wasm/, as the Node entry point does
// for the package (there the file sits next to the code, in dist/wasm/).
import { readFileSync } from 'node:fs';
import { initSync } from '../wasm/tollgate_client.js';
import { bind } from '../src/wasm.js';

bind(initSync({ module: readFileSync(new URL('../wasm/tollgate_client_bg.wasm', import.meta.url)) }));
