// Runs the end-to-end layers against one real `wrangler dev`:
//   node tests/run.mjs http      HTTP tests (tests/http/*.test.mjs)
//   node tests/run.mjs browser   Playwright tests in headless Chromium (tests/browser/*.test.mjs)
//   node tests/run.mjs           both, against the same server
//   node tests/run.mjs http auth lockout
//                                only the files of those layers whose names contain one of
//                                the other words (for working on one area; make test runs all)
//   TOLLGATE_CONSISTENCY=strict node tests/run.mjs http
//                                every Tollgate server of the run in strict mode
//                                (`make test-http-strict`)
// It builds the Worker, starts the server, runs each layer with node's test runner (each
// layer's own output, ending in its `ℹ pass N` / `ℹ fail N` lines), and always stops the server.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startWorker } from './harness/worker.mjs';

const LAYERS = { http: 'tests/http', browser: 'tests/browser' };
const args = process.argv.slice(2);
const named = args.filter((a) => LAYERS[a]);
const filters = args.filter((a) => !LAYERS[a]);
const wanted = named.length ? named : Object.keys(LAYERS);
if (filters.length && !named.length) {
  console.error(`usage: node tests/run.mjs [${Object.keys(LAYERS).join('|')} ...] [file-name words ...]`);
  process.exit(2);
}

const build = spawnSync(join(ROOT, 'scripts/build-worker.sh'), { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// The shared server runs with the defaults of wrangler.toml; tests that need other settings
// (short lifetimes, a short lockout window, faults) start their own server.
let failed = false;
const server = await startWorker({});
// Every HTTP response the tests see is recorded here for the OpenAPI coverage check.
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-run-'));
const observations = join(scratch, 'observations.jsonl');
try {
  for (const layer of wanted) {
    const dir = join(ROOT, LAYERS[layer]);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.test.mjs') && (!filters.length || filters.some((w) => f.includes(w))))
      .sort().map((f) => join(dir, f));
    // node --test with no files searches the whole tree for tests: never let it.
    if (files.length === 0) {
      console.log(`\n=== e2e ${layer}: no test files match; nothing ran`);
      failed = true;
      continue;
    }
    const mode = process.env.TOLLGATE_CONSISTENCY ? ` (CONSISTENCY=${process.env.TOLLGATE_CONSISTENCY})` : '';
    console.log(`\n=== e2e ${layer}: ${files.length} files against ${server.url}${mode}`);
    const code = await new Promise((ok) => {
      // One file at a time, in name order: test files start servers of their own, and on two
      // cores running them side by side only makes every timing worse; zz-openapi.test.mjs
      // must run last.
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
        cwd: ROOT, stdio: 'inherit',
        env: { ...process.env, TOLLGATE_URL: server.url, TOLLGATE_PERSIST_DIR: server.persistDir, TOLLGATE_OBSERVATIONS: observations },
      });
      child.on('exit', (c) => ok(c ?? 1));
    });
    if (code !== 0) failed = true;
  }
} finally {
  await server.dispose();
  rmSync(scratch, { recursive: true, force: true });
}
if (failed) {
  console.log('\n--- wrangler dev output (last 4000 chars) ---\n' + server.log.slice(-4000));
}
process.exit(failed ? 1 : 0);
