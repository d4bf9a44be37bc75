// `apiOrigins` in real Chromium against a real `wrangler dev`: an app on one origin signs in
// and calls, through `auth.fetch`, its own API on a second origin (which verifies the token
// by asking Tollgate, as a resource server would) and a third-party service on a third origin.
// The API gets the token, and a 401 from it refreshes the session and retries with the new
// token; the third party never sees an Authorization header.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { serveApp } from '../harness/app-server.mjs';
import { launchBrowser } from '../harness/browser.mjs';
import { startWorker } from '../harness/worker.mjs';
import { PASSWORD, registerAccount, writeApiOriginsApp } from './client-helpers.mjs';

let dir;
let app;
let api;
let thirdParty;
let worker;
let browser;

/** CORS for the app's origin, preflight included, around a handler of JSON answers. */
const cors = (handler) => async (req, res) => {
  const headers = { 'Access-Control-Allow-Origin': app.origin, 'Access-Control-Allow-Headers': 'Authorization', Vary: 'Origin' };
  if (req.method === 'OPTIONS') return res.writeHead(204, headers).end();
  const [status, body] = await handler(req);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

/** The bearer token of a request to the API, checked by Tollgate itself (`GET /auth/claims`). */
async function verify(req) {
  const authorization = req.headers.authorization ?? '';
  const res = await fetch(`${worker.url}/auth/claims`, { headers: { Authorization: authorization } });
  return { token: authorization.replace(/^Bearer /, ''), claims: res.status === 200 ? await res.json() : null };
}

const seenByApi = [];
const refusedOnce = new Set();

before(async () => {
  dir = writeApiOriginsApp('tollgate-api-origins-');
  app = await serveApp({ dir });
  api = await serveApp({
    routes: {
      // The app's API: 200 with the caller's id for a token Tollgate accepts, else 401.
      '/data': cors(async (req) => {
        const { token, claims } = await verify(req);
        seenByApi.push({ path: '/data', token, valid: claims !== null });
        return claims ? [200, { sub: claims.sub }] : [401, { detail: 'Not authenticated.' }];
      }),
      // Refuses the first token it is shown (as an API whose own rules reject it would), then
      // accepts any other token Tollgate accepts.
      '/strict': cors(async (req) => {
        const { token, claims } = await verify(req);
        seenByApi.push({ path: '/strict', token, valid: claims !== null });
        if (!claims || refusedOnce.size === 0 || refusedOnce.has(token)) {
          refusedOnce.add(token);
          return [401, { detail: 'Token refused.' }];
        }
        return [200, { sub: claims.sub }];
      }),
    },
  });
  thirdParty = await serveApp({ routes: { '/collect': cors(async (req) => [200, { authorization: req.headers.authorization ?? null }]) } });
  worker = await startWorker({ vars: { ALLOWED_ORIGINS: app.origin } });
  app.proxyTo(worker.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of [app, api, thirdParty]) await s?.close();
  await worker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signedInPage() {
  const email = await registerAccount(worker.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}/?api=${encodeURIComponent(api.origin)}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  const sub = await page.evaluate(([email, password]) => window.auth.login(email, password).then((c) => c.sub), [email, PASSWORD]);
  return { page, context, sub, errors };
}

const call = (page, url) => page.evaluate(async (url) => {
  const res = await window.auth.fetch(url);
  return { status: res.status, body: await res.json() };
}, url);

test('the listed API origin gets a token Tollgate accepts; an unlisted origin gets no Authorization header', async () => {
  const { page, context, sub, errors } = await signedInPage();
  const token = await page.evaluate(() => window.auth.getAccessToken());

  assert.deepEqual(await call(page, `${api.origin}/data`), { status: 200, body: { sub } });
  assert.deepEqual(seenByApi.at(-1), { path: '/data', token, valid: true });

  assert.deepEqual(await call(page, `${thirdParty.origin}/collect`), { status: 200, body: { authorization: null } });
  assert.ok(thirdParty.requests.length > 0);
  assert.deepEqual(thirdParty.requests.filter((r) => r.headers.authorization !== undefined), [], 'no request to the third party carried a token');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a 401 from the listed API origin refreshes the session once and retries with the new token', async () => {
  const { page, context, sub, errors } = await signedInPage();
  const first = await page.evaluate(() => window.auth.getAccessToken());
  const refreshes = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/auth/refresh') refreshes.push(r.url()); });

  const before = seenByApi.length;
  assert.deepEqual(await call(page, `${api.origin}/strict`), { status: 200, body: { sub } });
  const calls = seenByApi.slice(before);
  const second = await page.evaluate(() => window.auth.getAccessToken());
  assert.notEqual(second, first);
  assert.deepEqual(calls, [{ path: '/strict', token: first, valid: true }, { path: '/strict', token: second, valid: true }]);
  assert.equal(refreshes.length, 1);
  assert.deepEqual(errors, []);
  await context.close();
});
