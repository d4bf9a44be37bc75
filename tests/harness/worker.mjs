// Starts and stops a real `wrangler dev` (workerd + local KV) for end-to-end tests.
//
// Each server gets free loopback ports (HTTP and inspector), its own persist dir for local
// KV and its own env file with a fresh random JWT_SECRET, so servers never share state with
// each other or with a developer's `make dev`. Servers are killed as a process group when
// stopped, and on exit of the test process whatever the reason, so nothing leaks.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const READY_TIMEOUT_MS = 240_000;
const live = new Set();

/**
 * The root wrangler.toml without its `[build]` section, paths made absolute. Tests build the
 * Worker once up front (tests/run.mjs); a `[build]` command would make wrangler watch the
 * sources and restart the Worker when its watcher fires, which it does spuriously shortly
 * after start on a loaded machine ("Your worker restarted mid-request").
 */
let testConfig;
export function testConfigPath() {
  if (testConfig) return testConfig;
  let toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const replace = (from, to) => {
    const next = toml.replace(from, to);
    if (next === toml) throw new Error(`wrangler.toml no longer matches ${from}; update tests/harness/worker.mjs`);
    toml = next;
  };
  replace(/^\[build\]\n(?:(?!\[).*\n)*/m, '');
  replace(/^main = "([^"]+)"$/m, (_, p) => `main = ${JSON.stringify(join(ROOT, p))}`);
  replace(/^directory = "([^"]+)"$/m, (_, p) => `directory = ${JSON.stringify(join(ROOT, p))}`);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
  testConfig = join(dir, 'wrangler.toml');
  writeFileSync(testConfig, toml);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return testConfig;
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
 * @param {{vars?: Record<string,string>, secrets?: Record<string,string>, persistDir?: string}} opts
 *   `vars` become `--var K:V`; `secrets` are added to the server's own env file.
 */
export async function startWorker(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
  const persistDir = opts.persistDir ?? join(dir, 'state');
  // A secret set to `undefined` is left out (to test a server without it).
  const secrets = { JWT_SECRET: randomBytes(32).toString('base64url'), ...opts.secrets };
  const envFile = join(dir, 'dev.vars');
  writeFileSync(envFile, Object.entries(secrets).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(''));

  const server = { dir, persistDir, envFile, secrets, vars: opts.vars ?? {}, log: '', url: '', proc: null };
  server.start = () => launch(server);
  // Log lines reach us a moment after the response that caused them.
  server.waitForLog = (pattern, timeoutMs = 5000) => waitForLog(server, pattern, timeoutMs);
  server.stop = () => stop(server);
  server.restart = async () => { await stop(server); await launch(server); };
  server.dispose = async () => { await stop(server); if (!opts.persistDir) rmSync(dir, { recursive: true, force: true }); };
  await launch(server);
  return server;
}

async function launch(server) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    'dev', '--config', testConfigPath(), '--local', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-ip', '127.0.0.1', '--inspector-port', String(inspectorPort),
    '--persist-to', server.persistDir, '--env-file', server.envFile,
    '--show-interactive-dev-session=false', '--log-level', 'log',
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
      const res = await fetch(`${server.url}/health`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 503) return server;
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
