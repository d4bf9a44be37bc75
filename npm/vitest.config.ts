import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The sources import the wasm glue as `./wasm/tollgate_client.js` (where it sits in dist/);
// in the source tree `make client` leaves it in npm/wasm/.
const wasmDir = fileURLToPath(new URL('./wasm/', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^\.\/wasm\/(.*)$/, replacement: `${wasmDir}$1` }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    environment: 'node',
  },
});
