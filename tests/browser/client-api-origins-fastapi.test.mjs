// `apiOrigins` against the FastAPI example (examples/fastapi-resource-server under uvicorn):
// an app in real Chromium signs in at a real `wrangler dev` and calls, through `auth.fetch`,
// two instances of the same FastAPI service on two origins, of which its client lists one.
// The listed one gets the token and answers with the user; the unlisted one gets no
// Authorization header at all, which FastAPI's OAuth2PasswordBearer reports as
// "Not authenticated" (any token, even a bad one, would be "Could not validate credentials").
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { serveApp } from '../harness/app-server.mjs';
import { launchBrowser } from '../harness/browser.mjs';
import { startFastApi } from '../harness/fastapi.mjs';
import { startWorker } from '../harness/worker.mjs';
import { PASSWORD, registerAccount, writeApiOriginsApp } from './client-helpers.mjs';

let dir;
let app;
let worker;
let listed;
let unlisted;
let browser;

before(async () => {
  dir = writeApiOriginsApp('tollgate-api-origins-fastapi-');
  app = await serveApp({ dir });
  worker = await startWorker({ vars: { ALLOWED_ORIGINS: app.origin } });
  app.proxyTo(worker.url);
  // Both instances share Tollgate's HS256 secret and let the app's origin call them (CORS).
  const env = { JWT_SECRET: worker.secrets.JWT_SECRET, ALLOWED_ORIGINS: app.origin };
  listed = await startFastApi(env);
  unlisted = await startFastApi(env);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of [listed, unlisted]) await s?.dispose();
  await app?.close();
  await worker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('auth.fetch sends the token to the FastAPI service it lists, and no Authorization header to the one it does not', async () => {
  const email = await registerAccount(worker.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const refreshes = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/auth/refresh') refreshes.push(r.url()); });
  await page.goto(`${app.url}/?api=${encodeURIComponent(listed.url)}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  const sub = await page.evaluate(([email, password]) => window.auth.login(email, password).then((c) => c.sub), [email, PASSWORD]);
  const call = (url) => page.evaluate(async (url) => {
    const res = await window.auth.fetch(url);
    return { status: res.status, body: await res.json() };
  }, url);
  const before = refreshes.length;

  const mine = await call(`${listed.url}/notes`);
  assert.deepEqual(mine, { status: 200, body: { notes_of: sub } });

  const other = await call(`${unlisted.url}/notes`);
  assert.deepEqual(other, { status: 401, body: { detail: 'Not authenticated' } });
  assert.equal(refreshes.length, before, 'a 401 from an unlisted origin is handed back: no refresh, no retry');

  // The unlisted instance does accept the token when it is given: only the origin differs.
  const token = await page.evaluate(() => window.auth.getAccessToken());
  const direct = await fetch(`${unlisted.url}/notes`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(direct.status, 200);
  assert.deepEqual(errors, []);
  await context.close();
});
