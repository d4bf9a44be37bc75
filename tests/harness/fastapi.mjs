// Starts and stops examples/fastapi-resource-server under uvicorn, from the venv that
// scripts/setup.sh makes (`make setup`, or `scripts/setup.sh python`), on a free loopback port.
// Like the Worker harness, each app is its own process group, killed when disposed and on exit
// of the test process whatever the reason.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort } from './worker.mjs';

export const EXAMPLE_DIR = join(ROOT, 'examples/fastapi-resource-server');
export const PYTHON = join(EXAMPLE_DIR, '.venv/bin/python');
const READY_TIMEOUT_MS = 30_000;
const live = new Set();

/**
 * The environment the app gets: only what Python needs plus `env`, so nothing of the test's
 * own environment (a JWT_SECRET, say) changes how it verifies.
 */
function appEnv(env) {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...env };
}

function requireVenv() {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing; run make setup (or scripts/setup.sh python)`);
}

/**
 * Starts `uvicorn main:app` with `env` (JWKS_URL or JWT_SECRET, ...) and resolves once
 * `GET /public` answers 200. Returns `{url, log, dispose}`.
 */
export async function startFastApi(env) {
  requireVenv();
  const port = await freePort();
  const proc = spawn(PYTHON, ['-m', 'uvicorn', 'main:app', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info'], {
    cwd: EXAMPLE_DIR, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: appEnv(env),
  });
  const app = { url: `http://127.0.0.1:${port}`, log: '', proc };
  live.add(proc);
  proc.stdout.on('data', (c) => { app.log += c; });
  proc.stderr.on('data', (c) => { app.log += c; });
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; live.delete(proc); });
  app.dispose = async () => {
    if (exited) return;
    const gone = new Promise((r) => proc.once('exit', r));
    killGroup(proc, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`uvicorn exited (${JSON.stringify(exited)}) before it was ready:\n${app.log}`);
    try {
      const res = await fetch(`${app.url}/public`);
      await res.body?.cancel();
      if (res.status === 200) return app;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await app.dispose();
  throw new Error(`uvicorn was not ready after ${READY_TIMEOUT_MS} ms:\n${app.log}`);
}

/**
 * Runs uvicorn with `env` expecting it to refuse to start; resolves to `{status, output}`.
 * (Port 0: the OS picks one, in case it does start.)
 */
export function startFastApiExpectingFailure(env) {
  requireVenv();
  const res = spawnSync(PYTHON, ['-m', 'uvicorn', 'main:app', '--host', '127.0.0.1', '--port', '0'], {
    cwd: EXAMPLE_DIR, env: appEnv(env), encoding: 'utf8', timeout: READY_TIMEOUT_MS, killSignal: 'SIGKILL',
  });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

function killGroup(proc, signal) {
  try { process.kill(-proc.pid, signal); } catch { /* already gone */ }
}

process.once('exit', () => { for (const p of live) killGroup(p, 'SIGKILL'); });
