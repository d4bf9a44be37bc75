import { defineConfig } from 'vitest/config';

// The tests render into happy-dom's document and use the built @tollgate/client (its real
// wasm) against the fake server and clock of the client's own unit tests.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: './test/environment.ts',
  },
});
