// Puts the wasm-pack output (npm/wasm/, built by `make client`) into dist/wasm/: the .wasm and
// its .d.ts as they are, and the JS glue minified (it ships comments that only the .d.ts needs).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { transformSync } from 'esbuild';

const from = new URL('../wasm/', import.meta.url);
const to = new URL('../dist/wasm/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const file of ['tollgate_client_bg.wasm', 'tollgate_client.d.ts']) copyFileSync(new URL(file, from), new URL(file, to));
const glue = readFileSync(new URL('tollgate_client.js', from), 'utf8');
const { code } = transformSync(glue, { minify: true, format: 'esm', target: 'es2022' });
writeFileSync(new URL('tollgate_client.js', to), code);
