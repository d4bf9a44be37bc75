// `make dev` itself, the way the README's quick start runs it: with ARGS that move the port
// and the persist dir (wrangler refuses a flag given twice, so the Makefile must leave its
// own defaults out), it serves /health and the demo page, keeps an existing .dev.vars as it
// is, and what was stored survives a restart of `make dev` on the same persist dir.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { ROOT, freePort } from '../harness/worker.mjs';

const READY_TIMEOUT_MS = 240_000;
const DEV_VARS = join(ROOT, '.dev.vars');
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-make-dev-'));
const hadDevVars = existsSync(DEV_VARS);
const devVarsBefore = hadDevVars ? readFileSync(DEV_VARS) : null;
let running = null;

after(async () => {
  await stopDev(running);
  // Leave the checkout as it was found: a .dev.vars this test made goes away again.
  if (!hadDevVars) rmSync(DEV_VARS, { force: true });
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts `make dev ARGS=...` in its own process group and waits for GET /health. */
async function startDev(persistDir) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = `--port ${port} --inspector-port ${inspectorPort} --persist-to ${persistDir}`;
  // A developer's shell, not the make that runs this test: no inherited MAKEFLAGS.
  const env = { ...process.env, FORCE_COLOR: '0' };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  const proc = spawn('make', ['--no-print-directory', 'dev', `ARGS=${args}`], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env,
  });
  const dev = { proc, url: `http://127.0.0.1:${port}`, log: '', exited: null };
  proc.stdout.on('data', (c) => { dev.log += c; });
  proc.stderr.on('data', (c) => { dev.log += c; });
  proc.on('exit', (code, signal) => { dev.exited = { code, signal }; });
  running = dev;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (dev.exited) throw new Error(`make dev exited (${JSON.stringify(dev.exited)}) before serving:\n${dev.log}`);
    try {
      const res = await fetch(`${dev.url}/health`);
      const body = await res.text();
      if (res.status === 200) return { ...dev, health: { res, body } };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`make dev did not serve /health within ${READY_TIMEOUT_MS} ms:\n${dev.log}`);
}

async function stopDev(dev) {
  if (!dev || dev.exited) return;
  const exited = new Promise((r) => dev.proc.once('exit', r));
  const kill = (sig) => { try { process.kill(-dev.proc.pid, sig); } catch { /* gone */ } };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  kill('SIGKILL'); // workerd may outlive make and wrangler by a moment
}

test('make dev with ARGS serves /health and the demo page, and its KV state survives a restart', async () => {
  const persistDir = join(scratch, 'state');
  let dev = await startDev(persistDir);
  assert.match(dev.health.res.headers.get('content-type'), /^application\/json/);
  assert.equal(JSON.parse(dev.health.body).status, 'ok');

  const page = await fetch(`${dev.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(await page.text(), /<html/i);

  // .dev.vars: an existing one is untouched; a new one holds a random 32-byte secret, private.
  if (hadDevVars) {
    assert.deepEqual(readFileSync(DEV_VARS), devVarsBefore, 'make dev must never overwrite .dev.vars');
  } else {
    assert.match(readFileSync(DEV_VARS, 'utf8'), /^JWT_SECRET=[A-Za-z0-9_-]{43}\n$/);
    assert.equal(statSync(DEV_VARS).mode & 0o077, 0, '.dev.vars must be readable by its owner only');
  }

  const user = await signUp(client(dev.url), { tag: 'make-dev' });
  assert.ok(existsSync(persistDir), 'local state goes where --persist-to says');

  await stopDev(dev);
  const secretAfterFirstRun = readFileSync(DEV_VARS);
  dev = await startDev(persistDir);
  assert.deepEqual(readFileSync(DEV_VARS), secretAfterFirstRun, 'the second run keeps the secret');
  const session = await logIn(client(dev.url), user.email);
  const me = await client(dev.url).get('/me', { token: session.token });
  assert.equal(me.status, 200, 'the user registered before the restart logs in');
  assert.equal(me.json.email, user.email);
});
