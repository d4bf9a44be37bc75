// The servers a benchmark run compares, each on its own free loopback port:
//   tollgate_with_assets  Tollgate's built Worker under `wrangler dev` (workerd + local KV),
//             with the configuration the end-to-end tests use (tests/harness/worker.mjs's
//             derived wrangler.toml: no [build] section, absolute paths): as shipped, with
//             its [assets], so wrangler's asset router worker runs in front of it;
//   tollgate  the same build with the same configuration minus its [assets] table
//             (TOLLGATE_API_CONFIG): the API alone, like the peers, which serve no files;
//   hono      the Hono peer (bench/peers/hono) under `wrangler dev`, launched identically;
//   tollgate_generated_entry  the API-only server with worker-build's own generated entry
//             (worker/build/generated-entry.js) as `main` instead of the thin one that ships
//             (scripts/thin-entry.mjs): what the choice of entry costs per request;
//   bare      a Worker that does nothing (bench/peers/bare): the runtime's own floor;
//   observed  Tollgate's Worker behind bench/kv-observer/entry.mjs, which counts KV calls;
//   fastapi   the FastAPI peer (bench/peers/fastapi) under uvicorn, from bench/.venv.
// Every Worker gets the same flags, including `--log-level`, so wrangler's own per-request
// work is the same on every side. Every server is its own process group and is killed as a
// group when stopped or when this process exits.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort, testConfigPath } from '../../tests/harness/worker.mjs';

const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const READY_TIMEOUT_MS = 240_000;
const live = new Set();
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
process.once('exit', () => {
  for (const p of live) killGroup(p, 'SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => process.exit(130));
}

const WRANGLER_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', FORCE_COLOR: '0' };
/** wrangler's log level for every benchmarked Worker: warnings only, no line per request. */
export const LOG_LEVEL = 'warn';

/** The wrangler.toml of Tollgate's Worker as the tests use it. */
export const TOLLGATE_CONFIG = () => testConfigPath();
let apiConfig = null;
/**
 * Tollgate's test wrangler.toml with its whole `[assets]` table removed: the same build, the
 * same bindings and vars, the API alone. No peer serves static files, and under `wrangler dev`
 * any Worker with `[assets]` gets wrangler's asset router worker (JavaScript, in the same
 * workerd) in front of it on every request, even the API paths that `run_worker_first` sends
 * straight to the Worker; in production Cloudflare's asset layer runs ahead of the Worker and
 * is not Worker CPU. So this is the configuration compared like for like with the peers; the
 * as-shipped one (TOLLGATE_CONFIG) is measured beside it.
 */
export function TOLLGATE_API_CONFIG() {
  if (apiConfig) return apiConfig;
  const toml = readFileSync(testConfigPath(), 'utf8');
  const next = toml.replace(/^\[assets\]\n(?:(?!\[).*\n)*/m, '');
  if (next === toml) throw new Error('no [assets] section in the test wrangler.toml: the API-only benchmark config (bench/lib/servers.mjs, TOLLGATE_API_CONFIG) no longer matches wrangler.toml; update it');
  apiConfig = join(mkdtempSync(join(scratch, 'api-only-')), 'wrangler.toml');
  writeFileSync(apiConfig, next);
  return apiConfig;
}
let generatedEntryConfig = null;
/**
 * TOLLGATE_API_CONFIG with `main` pointing at worker-build's generated entry, which
 * scripts/build-worker.sh keeps beside the thin entry that ships: the same wasm, the same
 * configuration, only the JavaScript in front of it differs.
 */
export function TOLLGATE_GENERATED_ENTRY_CONFIG() {
  if (generatedEntryConfig) return generatedEntryConfig;
  const toml = readFileSync(TOLLGATE_API_CONFIG(), 'utf8');
  const next = toml.replace(/^main = "(.*)\/index\.js"$/m, (_, dir) => `main = "${dir}/generated-entry.js"`);
  if (next === toml) throw new Error('cannot find main = ".../index.js" in the API-only wrangler.toml (bench/lib/servers.mjs)');
  generatedEntryConfig = join(mkdtempSync(join(scratch, 'generated-entry-')), 'wrangler.toml');
  writeFileSync(generatedEntryConfig, next);
  return generatedEntryConfig;
}
/** The Hono peer's wrangler.toml. */
export const HONO_CONFIG = join(ROOT, 'bench/peers/hono/wrangler.toml');
/** The do-nothing floor Worker's wrangler.toml. */
export const BARE_CONFIG = join(ROOT, 'bench/peers/bare/wrangler.toml');

/**
 * The KV observer's wrangler.toml: Tollgate's test config with `main` pointing at
 * bench/kv-observer/entry.mjs, which wraps the built Worker.
 */
export function observerConfig() {
  const toml = readFileSync(testConfigPath(), 'utf8');
  const next = toml.replace(/^main = .*$/m, `main = ${JSON.stringify(join(ROOT, 'bench/kv-observer/entry.mjs'))}`);
  if (next === toml) throw new Error('cannot find main = in the test wrangler.toml');
  const path = join(mkdtempSync(join(scratch, 'observer-')), 'wrangler.toml');
  writeFileSync(path, next);
  return path;
}

/** A fresh directory under this run's scratch dir. */
export function freshDir(prefix) {
  return mkdtempSync(join(scratch, `${prefix}-`));
}

/**
 * Starts `wrangler dev` for `config` and resolves once `GET /health` answers 200.
 * @param {{name: string, config: string, vars?: Record<string,string>, secrets: Record<string,string>, persistDir?: string}} opts
 */
export async function startWrangler(opts) {
  const dir = freshDir(opts.name);
  const persistDir = opts.persistDir ?? join(dir, 'state');
  const envFile = join(dir, 'dev.vars');
  writeFileSync(envFile, Object.entries(opts.secrets).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(''));
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    'dev', '--config', opts.config, '--local', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-ip', '127.0.0.1', '--inspector-port', String(inspectorPort),
    '--persist-to', persistDir, '--env-file', envFile,
    '--show-interactive-dev-session=false', '--log-level', LOG_LEVEL,
    ...Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const proc = spawn(WRANGLER, args, {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...WRANGLER_ENV },
  });
  return watch({ name: opts.name, kind: 'wrangler', proc, url: `http://127.0.0.1:${port}`, persistDir, config: opts.config, inspectorPort });
}

/**
 * Starts the FastAPI peer under uvicorn (one worker process, uvloop + httptools, no access
 * log: its fastest ordinary configuration).
 * @param {{secret: string, seedFile?: string}} opts
 */
export async function startFastApi(opts) {
  const port = await freePort();
  const uvicorn = join(ROOT, 'bench/.venv/bin/uvicorn');
  const args = ['app:app', '--app-dir', join(ROOT, 'bench/peers/fastapi'), '--host', '127.0.0.1', '--port', String(port),
    '--workers', '1', '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning'];
  const proc = spawn(uvicorn, args, {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JWT_SECRET: opts.secret, ...(opts.seedFile ? { BENCH_SEED: opts.seedFile } : {}) },
  });
  return watch({ name: 'fastapi', kind: 'uvicorn', proc, url: `http://127.0.0.1:${port}` });
}

async function watch(server) {
  const { proc } = server;
  live.add(proc);
  server.log = '';
  const onData = (chunk) => { server.log = (server.log + chunk.toString()).slice(-20_000); };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; live.delete(proc); });
  server.stop = () => stop(proc);
  /** Every process of the server's group (wrangler's node, workerd; or uvicorn), for CPU accounting. */
  server.pids = () => groupPids(proc.pid);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${server.name} exited (${JSON.stringify(exited)}) before it was ready:\n${server.log}`);
    try {
      const res = await fetch(`${server.url}/health`);
      await res.body?.cancel();
      if (res.status === 200) return server;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop(proc);
  throw new Error(`${server.name} was not ready after ${READY_TIMEOUT_MS} ms:\n${server.log}`);
}

async function stop(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  killGroup(proc, 'SIGTERM');
  const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  killGroup(proc, 'SIGKILL');
}

function killGroup(proc, signal) {
  try { process.kill(-proc.pid, signal); } catch { /* already gone */ }
}

/** The pids whose process group is `pgid`, with their command names. */
export function groupPids(pgid) {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,pgid=,comm='], { encoding: 'utf8' }).stdout;
  return out.trim().split('\n').map((l) => l.trim().split(/\s+/))
    .filter(([, g]) => Number(g) === pgid).map(([pid, , comm]) => ({ pid: Number(pid), comm }));
}

/** `wrangler kv ...` against a server's local persist dir and config. */
export function wranglerKv(server, args) {
  const res = spawnSync(WRANGLER, ['kv', ...args, '--local', '--persist-to', server.persistDir, '--config', server.config], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...WRANGLER_ENV },
  });
  if (res.status !== 0) throw new Error(`wrangler kv ${args.join(' ')} failed:\n${res.stderr}`);
  return res.stdout;
}
