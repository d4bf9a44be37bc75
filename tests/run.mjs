// Runs the end-to-end layers against one real `wrangler dev`:
//   node tests/run.mjs http      HTTP tests (tests/http/*.test.mjs)
//   node tests/run.mjs browser   Playwright tests in headless Chromium (tests/browser/*.test.mjs)
//   node tests/run.mjs           both, against the same server
// It builds the Worker, starts the server, runs each layer with node's test runner (each
// layer's own output, ending in its `ℹ pass N` / `ℹ fail N` lines), and always stops the server.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startWorker } from './harness/worker.mjs';

const LAYERS = { http: 'tests/http', browser: 'tests/browser' };
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(LAYERS);
for (const layer of wanted) {
  if (!LAYERS[layer]) { console.error(`unknown layer ${layer}; expected one of ${Object.keys(LAYERS).join(', ')}`); process.exit(2); }
}

const build = spawnSync(join(ROOT, 'scripts/build-worker.sh'), { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// The shared server uses short lifetimes so that silent refresh and lockout expiry can be
// watched within a test run; tests that need other settings start their own server.
export const SHARED_VARS = {};

let failed = false;
const server = await startWorker({ vars: SHARED_VARS });
try {
  for (const layer of wanted) {
    const dir = join(ROOT, LAYERS[layer]);
    const files = readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join(dir, f));
    console.log(`\n=== e2e ${layer}: ${files.length} files against ${server.url}`);
    const code = await new Promise((ok) => {
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {
        cwd: ROOT, stdio: 'inherit', env: { ...process.env, TOLLGATE_URL: server.url },
      });
      child.on('exit', (c) => ok(c ?? 1));
    });
    if (code !== 0) failed = true;
  }
} finally {
  await server.dispose();
}
if (failed) {
  console.log('\n--- wrangler dev output (last 4000 chars) ---\n' + server.log.slice(-4000));
}
process.exit(failed ? 1 : 0);
