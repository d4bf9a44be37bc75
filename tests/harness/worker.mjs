// Starts and stops a real `wrangler dev` (workerd + local KV) for end-to-end tests.
//
// Each server gets free loopback ports (HTTP and inspector), its own persist dir for local
// KV and its own env file with a fresh random JWT_SECRET, so servers never share state with
// each other or with a developer's `make dev`. Servers are killed as a process group when
// stopped, and on exit of the test process whatever the reason, so nothing leaks.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const READY_TIMEOUT_MS = 240_000;
const live = new Set();

/**
 * A wrangler.toml (the root one unless `configFile` names another, relative to the repository)
 * without its `[build]` section, paths made absolute. Tests build each Worker once up front
 * (tests/run.mjs, buildTestWorker, buildWorkerCrate); a `[build]` command would make wrangler
 * watch the sources and restart the Worker when its watcher fires, which it does spuriously
 * shortly after start on a loaded machine ("Your worker restarted mid-request").
 *
 * `build` chooses which build of Tollgate's own Worker runs: `deploy` (worker/build/, what
 * `wrangler deploy` ships, built by scripts/build-worker.sh) or `test` (worker/build-test/,
 * the same Worker with fault injection compiled in, built by `scripts/build-worker.sh --test`).
 */
const testConfigs = new Map();
export function testConfigPath(configFile = 'wrangler.toml', { build = 'deploy' } = {}) {
  const cacheKey = `${configFile}\0${build}`;
  if (testConfigs.has(cacheKey)) return testConfigs.get(cacheKey);
  if (build !== 'deploy' && (build !== 'test' || configFile !== 'wrangler.toml')) {
    throw new Error(`no ${build} build of ${configFile}: only Tollgate's own Worker has a test build`);
  }
  const source = join(ROOT, configFile);
  const base = dirname(source);
  let toml = readFileSync(source, 'utf8');
  const replace = (from, to, { optional = false } = {}) => {
    const next = toml.replace(from, to);
    if (next === toml && !optional) throw new Error(`${configFile} no longer matches ${from}; update tests/harness/worker.mjs`);
    toml = next;
  };
  replace(/^\[build\]\n(?:(?!\[).*\n)*/m, '');
  const outDir = (p) => (build === 'test' ? p.replace(/^worker\/build\//, 'worker/build-test/') : p);
  replace(/^main = "([^"]+)"$/m, (_, p) => `main = ${JSON.stringify(join(base, outDir(p)))}`);
  // Only Tollgate's own Worker has static assets.
  replace(/^directory = "([^"]+)"$/m, (_, p) => `directory = ${JSON.stringify(join(base, p))}`, { optional: configFile !== 'wrangler.toml' });
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
  const path = join(dir, 'wrangler.toml');
  writeFileSync(path, toml);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  testConfigs.set(cacheKey, path);
  return path;
}

/**
 * Builds the test build of Tollgate's Worker (worker/build-test/: fault injection compiled in,
 * for TOLLGATE_FAULT_INJECTION) with scripts/build-worker.sh --test, which skips the build when
 * nothing it reads changed. Tests that inject faults call it before starting a server with
 * `build: 'test'`.
 */
export function buildTestWorker() {
  const res = spawnSync(join(ROOT, 'scripts/build-worker.sh'), ['--test'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status !== 0) throw new Error(`scripts/build-worker.sh --test failed (${res.status ?? res.signal})`);
}

/**
 * Builds another workers-rs crate of the repository (`crateDir`, relative to it, for example
 * `examples/guarded-worker`) into its `build/` with worker-build, with the same offline tools
 * as scripts/build-worker.sh. Skipped when nothing it reads changed since the last build.
 */
export function buildWorkerCrate(crateDir) {
  const crate = join(ROOT, crateDir);
  const cargoBin = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin');
  const onPath = (name) => [...(process.env.PATH ?? '').split(':'), cargoBin].map((d) => join(d, name)).find((f) => existsSync(f));
  const tools = {
    WASM_BINDGEN_BIN: process.env.WASM_BINDGEN_BIN ?? onPath('wasm-bindgen'),
    WASM_OPT_BIN: join(ROOT, 'node_modules/.bin/wasm-opt'),
    ESBUILD_BIN: join(ROOT, 'node_modules/.bin/esbuild'),
  };
  const workerBuild = onPath('worker-build');
  for (const [name, bin] of Object.entries({ ...tools, 'worker-build': workerBuild })) {
    if (!bin || !existsSync(bin)) throw new Error(`${name} is missing; run scripts/setup.sh (or make setup)`);
  }
  const stamp = join(crate, 'build/.inputs-sha256');
  const want = inputsHash([join(ROOT, 'Cargo.toml'), join(ROOT, 'Cargo.lock'), join(ROOT, 'crates/core'), join(ROOT, 'worker/src'), join(ROOT, 'worker/Cargo.toml'), crate]);
  if (existsSync(join(crate, 'build/index.js')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  rmSync(join(crate, 'build/.tmp'), { recursive: true, force: true });
  const res = spawnSync(workerBuild, ['--release'], { cwd: crate, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...tools } });
  if (res.status !== 0) throw new Error(`worker-build in ${crateDir} failed (${res.status ?? res.signal})`);
  writeFileSync(stamp, want);
}

/** A hash of every Rust, TOML and text source under `paths` (build outputs left out). */
function inputsHash(paths) {
  const hash = createHash('sha256');
  const visit = (path) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (name === 'build' || name === 'target' || name === 'node_modules') continue;
        visit(join(path, name));
      }
    } else if (/\.(rs|toml|lock|txt|json)$/.test(path)) {
      hash.update(path).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  paths.forEach(visit);
  return hash.digest('hex');
}

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it for wrangler to take). */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts `wrangler dev` and resolves once `GET /health` answers (200, or 503 for a server
 * deliberately started misconfigured).
 * @param {{vars?: Record<string,string>, secrets?: Record<string,string>, persistDir?: string,
 *   config?: string, readyPath?: string, build?: 'deploy'|'test', configPath?: string, also?: string[],
 *   port?: number}} opts
 *   `vars` become `--var K:V`; `secrets` are added to the server's own env file. `config` runs
 *   another Worker of the repository (its wrangler.toml, relative to the repository, built
 *   first with buildWorkerCrate), which is ready once `readyPath` answers anything below 500.
 *   `build: 'test'` runs the test build of Tollgate's Worker (built first with buildTestWorker).
 *   `configPath` runs a configuration file as it is (an absolute path, nothing rewritten);
 *   `also` adds more Workers to the same `wrangler dev` (absolute config paths, for example
 *   `testConfigPath()` for Tollgate's), which the first reaches over service bindings.
 *   `port` fixes the HTTP port (from `freePort()`), for a var that must name the server's own
 *   URL before it starts (`APP_URL`).
 */
export async function startWorker(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
  const persistDir = opts.persistDir ?? join(dir, 'state');
  // A secret set to `undefined` is left out (to test a server without it).
  const secrets = { JWT_SECRET: randomBytes(32).toString('base64url'), ...opts.secrets };
  const envFile = join(dir, 'dev.vars');
  writeFileSync(envFile, Object.entries(secrets).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(''));

  // `TOLLGATE_CONSISTENCY=strict` (`make test-http-strict`) runs every Tollgate server of the
  // suite in strict mode; a test that sets CONSISTENCY itself keeps its own, and the other
  // Workers (examples, peers) get nothing they do not read.
  const tollgate = !opts.configPath && (opts.config ?? 'wrangler.toml') === 'wrangler.toml';
  const mode = tollgate && process.env.TOLLGATE_CONSISTENCY ? { CONSISTENCY: process.env.TOLLGATE_CONSISTENCY } : {};
  const server = {
    dir, persistDir, envFile, secrets, vars: { ...mode, ...opts.vars }, log: '', url: '', proc: null,
    config: opts.config ?? 'wrangler.toml', readyPath: opts.readyPath ?? '/health',
    build: opts.build ?? 'deploy',
    configPath: opts.configPath, also: opts.also ?? [], port: opts.port,
  };
  server.start = () => launch(server);
  // Log lines reach us a moment after the response that caused them.
  server.waitForLog = (pattern, timeoutMs = 5000) => waitForLog(server, pattern, timeoutMs);
  server.stop = () => stop(server);
  server.restart = async () => { await stop(server); await launch(server); };
  // `dir` holds the env file (with its secrets) and, unless the test chose its own, the KV
  // state: removed on dispose, and when the server never got ready.
  server.dispose = async () => { await stop(server); rmSync(dir, { recursive: true, force: true }); };
  try {
    await launch(server);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return server;
}

async function launch(server) {
  const port = server.port ?? await freePort();
  const inspectorPort = await freePort();
  const args = [
    'dev', '--config', server.configPath ?? testConfigPath(server.config, { build: server.build }),
    ...server.also.flatMap((c) => ['--config', c]), '--local', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-ip', '127.0.0.1', '--inspector-port', String(inspectorPort),
    '--persist-to', server.persistDir, '--env-file', server.envFile,
    '--show-interactive-dev-session=false', '--log-level', process.env.TOLLGATE_WRANGLER_LOG_LEVEL ?? 'log',
    ...Object.entries(server.vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const proc = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true, // its own process group, so workerd children die with it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', FORCE_COLOR: '0' },
  });
  server.proc = proc;
  server.url = `http://127.0.0.1:${port}`;
  live.add(proc);
  const onData = (chunk) => { server.log += chunk.toString(); };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; live.delete(proc); });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`wrangler dev exited (${JSON.stringify(exited)}) before it was ready:\n${server.log}`);
    try {
      const res = await fetch(`${server.url}${server.readyPath}`);
      await res.body?.cancel();
      const ready = server.readyPath === '/health' ? res.status === 200 || res.status === 503 : res.status < 500;
      if (ready) return server;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop(server);
  throw new Error(`wrangler dev was not ready after ${READY_TIMEOUT_MS} ms:\n${server.log}`);
}

async function waitForLog(server, pattern, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(server.log)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log tail:\n${server.log.slice(-2000)}`);
}

async function stop(server) {
  const proc = server.proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  killGroup(proc, 'SIGTERM');
  const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive wrangler by a moment; make sure the whole group is gone.
  killGroup(proc, 'SIGKILL');
  server.proc = null;
}

function killGroup(proc, signal) {
  try { process.kill(-proc.pid, signal); } catch { /* already gone */ }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { for (const p of live) killGroup(p, 'SIGKILL'); process.exit(130); });
}
process.once('exit', () => { for (const p of live) killGroup(p, 'SIGKILL'); });
