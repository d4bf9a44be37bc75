// A frontend on another site than Tollgate, in real Chromium against real `wrangler dev`: the
// app is served from http://localhost:<port>, Tollgate from http://127.0.0.1:<port>, which
// are different sites (as `*.pages.dev` and `*.workers.dev` are). With CROSS_SITE_COOKIES the
// session survives reloads and silent refresh; without it the same app gets
// `cross_site_refused` naming the fix; and a page whose origin is not in ALLOWED_ORIGINS hears
// that (CORS), not "could not be reached". README, "Where the frontend lives".
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serveApp } from '../harness/app-server.mjs';
import { launchBrowser } from '../harness/browser.mjs';
import { ROOT, startWorker } from '../harness/worker.mjs';
import { meStatusesFor, PASSWORD, registerAccount } from './client-helpers.mjs';

const TTL_SECONDS = 4;
let dir;
let app;
let crossSite;
let firstParty;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-cross-site-'));
  cpSync(join(ROOT, 'npm/dist'), join(dir, 'client'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="/main.js"></script>');
  // The app reads Tollgate's URL from the query (the ports are known only at run time) and
  // resumes its session on every load, as an app does.
  writeFileSync(join(dir, 'main.js'), `import { createAuthClient } from '/client/index.js';
const auth = createAuthClient({ baseUrl: new URLSearchParams(location.search).get('auth') });
window.auth = auth;
window.attempt = (f) => f().then((value) => ({ value }), (e) => ({ error: { code: e.code, status: e.status, message: e.message } }));
window.resumed = window.attempt(() => auth.resume().then((claims) => claims?.sub ?? null));
window.resumed.then(() => { document.body.dataset.ready = 'true'; });
`);
  app = await serveApp({ dir });
  const appOrigin = app.origin.replace('127.0.0.1', 'localhost');
  const vars = { ALLOWED_ORIGINS: appOrigin, ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) };
  crossSite = await startWorker({ vars: { ...vars, CROSS_SITE_COOKIES: 'true' } });
  firstParty = await startWorker({ vars });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await crossSite?.dispose();
  await firstParty?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens the app (from `http://localhost:<port>` unless `host` says otherwise) against `worker`. */
async function open(page, worker, host = 'localhost') {
  const url = `${app.origin.replace('127.0.0.1', host)}/?auth=${encodeURIComponent(worker.url)}`;
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page.evaluate(() => window.resumed);
}

const login = (page, email) => page.evaluate(([email, password]) => window.attempt(() => window.auth.login(email, password).then((c) => c.sub)), [email, PASSWORD]);

test('with CROSS_SITE_COOKIES, an app on another site keeps its session across reloads and silent refreshes', async () => {
  const email = await registerAccount(crossSite.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const refreshes = [];
  page.on('response', (r) => { if (new URL(r.url()).pathname === '/auth/refresh') refreshes.push(r.status()); });
  const requests = [];
  page.on('request', (r) => requests.push(r));

  assert.deepEqual(await open(page, crossSite), { value: null }, 'no session yet');
  const { value: sub, error } = await login(page, email);
  assert.equal(error, undefined, JSON.stringify(error));
  const login200 = requests.find((r) => new URL(r.url()).pathname === '/auth/login');
  assert.equal(await login200.headerValue('sec-fetch-site'), 'cross-site', 'Chromium saw this as a cross-site request');

  // The cookie is Tollgate's, kept in the app's partition.
  const cookies = (await context.cookies(crossSite.url)).filter((c) => c.name === '__Host-tollgate_refresh');
  assert.equal(cookies.length, 1, JSON.stringify(await context.cookies()));
  assert.equal(cookies[0].sameSite, 'None');
  assert.equal(cookies[0].secure, true);

  for (let i = 0; i < 2; i++) {
    assert.deepEqual(await open(page, crossSite), { value: sub }, `reload ${i + 1}: the session is resumed from the cookie`);
  }

  // Silent refresh over three token lifetimes: every call succeeds.
  const before = refreshes.length;
  const statuses = await meStatusesFor(page, 3 * TTL_SECONDS * 1000);
  assert.deepEqual([...new Set(statuses)], [200]);
  const silent = refreshes.slice(before);
  assert.ok(silent.length >= 2, `${silent.length} silent refreshes in three lifetimes`);
  assert.deepEqual(silent.filter((s) => s !== 200), []);

  assert.deepEqual(await open(page, crossSite), { value: sub }, 'still signed in after the refreshes');
  assert.deepEqual(await page.evaluate(() => window.attempt(() => window.auth.logout())), { value: undefined });
  assert.deepEqual(await open(page, crossSite), { value: null }, 'signed out for good');
  assert.deepEqual(errors, []);
  await context.close();
});

test('without CROSS_SITE_COOKIES, the same app is refused with cross_site_refused naming the fix', async () => {
  const email = await registerAccount(firstParty.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  const resumed = await open(page, firstParty);
  assert.equal(resumed.error?.code, 'cross_site_refused', JSON.stringify(resumed));
  const { error } = await login(page, email);
  assert.equal(error?.code, 'cross_site_refused', JSON.stringify(error));
  assert.equal(error.status, 403);
  assert.match(error.message, /CROSS_SITE_COOKIES=true/);
  assert.deepEqual(await context.cookies(), [], 'no cookie was stored');
  await context.close();
});

test('a page whose origin is not in ALLOWED_ORIGINS hears that CORS refused it, not that the server is unreachable', async () => {
  const email = await registerAccount(crossSite.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  // The app's own port, by its IP address: another origin than the one listed.
  const other = app.origin;
  const resumed = await open(page, crossSite, '127.0.0.1');
  assert.equal(resumed.error?.code, 'cross_site_refused', JSON.stringify(resumed));
  const { error } = await login(page, email);
  assert.equal(error?.code, 'cross_site_refused', JSON.stringify(error));
  assert.equal(error.status, 0, 'the browser hid the answer');
  assert.ok(error.message.includes(`add ${other} to the Tollgate server's ALLOWED_ORIGINS`), error.message);
  await context.close();
});
