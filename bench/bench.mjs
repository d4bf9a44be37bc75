// Runs every comparison of Tollgate against its peers on this machine and writes
// bench/results/latest.json; bench/report.mjs and bench/plots.py turn that into BENCHMARKS.md
// and the plots. Called by bench/run.sh (`make bench`), after the peer equivalence test.
//
//   node bench/bench.mjs            the full plan (about 10-15 minutes)
//   BENCH_QUICK=1 node bench/bench.mjs   a short plan, for working on the harness
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../tests/harness/worker.mjs';
import { profileWhile } from './lib/cpu-profile.mjs';
import { TOLLGATE_VARS, startFleet } from './lib/fleet.mjs';
import { LOG_LEVEL } from './lib/servers.mjs';
import { wrk } from './lib/wrk.mjs';
import { clientSection } from './sections/client.mjs';
import { hashingSection } from './sections/hashing.mjs';
import { httpSection } from './sections/http.mjs';
import { coreSection } from './sections/core.mjs';
import { importSection } from './sections/import.mjs';
import { kvOpsSection } from './sections/kv-ops.mjs';
import { modesSection } from './sections/modes.mjs';
import { sizeSection } from './sections/size.mjs';
import { coldStartSection } from './sections/cold-start.mjs';
import { loadSection } from './sections/load.mjs';
import { scaleSection } from './sections/scale.mjs';
import { evaluate } from './lib/goals.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const PLAN = QUICK
  ? { warmupSeconds: 1, seconds: 2, runs: 2, connections: 8, loginSeconds: 2, loginRuns: 2, loginWarmupSeconds: 1, hashRuns: 3, hashCount: 4, decodeRounds: 3, decodeSliceMs: 200, profileSeconds: 2, coreMeasureSeconds: 1, modeLogins: 10, modeRefreshes: 40, loadRounds: 1, scaleUsers: 5_000, scaleSample: 100, scaleRounds: 2, scaleAdminPages: 5, coldStartRounds: 3 }
  : { warmupSeconds: 3, seconds: 6, runs: 5, connections: 8, loginSeconds: 8, loginRuns: 4, loginWarmupSeconds: 2, hashRuns: 7, hashCount: 10, decodeRounds: 15, decodeSliceMs: 300, profileSeconds: 5, coreMeasureSeconds: 3, modeLogins: 40, modeRefreshes: 200, loadRounds: 3, scaleUsers: 100_000, scaleSample: 1_000, scaleRounds: 5, scaleAdminPages: 20, coldStartRounds: 9 };

const started = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : null;
}
const pkg = (name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

function machine() {
  const os = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1];
  return {
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)), free_memory_gib_at_start: Number((freemem() / 2 ** 30).toFixed(1)),
    os, kernel: release(), load_average_at_start: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

function versions() {
  const py = sh(join(ROOT, 'bench/.venv/bin/python'), ['-c',
    'import importlib.metadata as m, json, sys; print(json.dumps({"python": sys.version.split()[0], **{p: m.version(p) for p in ["fastapi","uvicorn","PyJWT","argon2-cffi","uvloop","httptools","matplotlib"]}}))']);
  return {
    node: process.version, wrangler: pkg('wrangler'), workerd: pkg('workerd'), hono: pkg('hono'), jose: pkg('jose'),
    'jwt-decode': pkg('jwt-decode'), 'playwright-core': pkg('playwright-core'),
    rustc: sh('rustc', ['--version']), wrk: sh('wrk', ['-v'])?.split('\n')[0] ?? null,
    ...(py ? JSON.parse(py) : {}),
  };
}

/**
 * CPU profiles of both Workers on one route, outside the measured runs (profiling slows V8).
 * `tollgate` is the API-only server, the one judged against the peers (bench/lib/fleet.mjs).
 */
async function profiles(fleet, path, plan) {
  const out = {};
  for (const [name, server] of [['tollgate', fleet.tollgate], ['hono', fleet.hono]]) {
    const { summary } = await profileWhile(server, () => wrk({ url: server.url + path, connections: plan.connections, seconds: plan.profileSeconds, token: fleet.token }));
    out[name] = summary;
  }
  return out;
}

/** A CPU profile of logins, on Tollgate as shipped: where the user (and its email index) is. */
async function loginProfile(fleet, plan) {
  const form = new URLSearchParams({ username: fleet.user.email, password: fleet.user.password }).toString();
  const server = fleet.tollgate_with_assets;
  const { summary } = await profileWhile(server, () => wrk({ url: `${server.url}/auth/login`, method: 'POST', body: form,
    contentType: 'application/x-www-form-urlencoded', connections: 1, seconds: plan.profileSeconds }));
  return summary;
}

const results = { generated_at: new Date().toISOString(), quick: QUICK, plan: PLAN, machine: machine(), versions: versions(),
  setup: { wrangler_log_level: LOG_LEVEL, tollgate_vars: TOLLGATE_VARS } };
log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, load ${results.machine.load_average_at_start.join(' ')}`);

results.size = sizeSection(log);
results.kv_ops = await kvOpsSection(TOLLGATE_VARS, log);
// The same flows with every user's state in its object (README, "Consistency modes").
results.kv_ops_strict = await kvOpsSection({ ...TOLLGATE_VARS, CONSISTENCY: 'strict' }, log);
results.modes = await modesSection(PLAN, log);

log('starting Tollgate (as shipped, and API-only), the Hono peer, the do-nothing Worker and the FastAPI peer');
const fleet = await startFleet();
try {
  results.http = await httpSection(fleet, PLAN, log);
  log('load: /me at 1, 8 and 64 connections');
  results.load = await loadSection(fleet, PLAN, log);
  // The hashing section times the wasm through Tollgate as shipped, like login.
  results.hashing = await hashingSection({ ...fleet, tollgate: fleet.tollgate_with_assets }, PLAN, log);
  log('CPU profiles (V8 inspector) of both Workers, for what dominates each route');
  results.profiles = {
    stateless: await profiles(fleet, '/auth/claims', PLAN),
    me: await profiles(fleet, '/me', PLAN),
    login: { tollgate_with_assets: await loginProfile(fleet, PLAN) },
  };
  results.client = await clientSection(fleet.token, PLAN, log);
} finally {
  await fleet.stop();
}
results.import = importSection(log);
log(`scale: 1,000 users vs ${PLAN.scaleUsers.toLocaleString('en-US')}`);
results.scale = await scaleSection(PLAN, results.versions, log);
log('cold start: a new workerd to the first response');
results.cold_start = await coldStartSection(PLAN, log);
results.core = coreSection(PLAN, log);
results.machine.load_average_at_end = loadavg().map((x) => Number(x.toFixed(2)));
results.duration_seconds = Math.round((Date.now() - started) / 1000);
results.figures = evaluate(results);

mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), JSON.stringify(results, null, 2) + '\n');
log(`wrote bench/results/latest.json (${results.duration_seconds} s)`);
for (const f of results.figures) log(`${f.met === null ? 'n/a ' : f.met ? 'met ' : 'MISS'} ${f.figure}: ${f.summary}`);
