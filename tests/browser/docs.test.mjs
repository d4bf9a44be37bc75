// Swagger UI at /docs, in real headless Chromium: served from the Worker's own assets (no
// CDN) with the headers of worker/public/_headers (a strict Content-Security-Policy, nosniff,
// Referrer-Policy), listing every operation, and usable the way FastAPI users use /docs:
// Authorize with the OAuth2 password flow, then "Try it out" on a protected route, with no
// CSP violation reported along the way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PASSWORD, client, email, fromAnywhere } from '../harness/api.mjs';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { BASE } from '../harness/server-url.mjs';
import { ROOT } from '../harness/worker.mjs';

const spec = JSON.parse(readFileSync(join(ROOT, 'worker/openapi.json'), 'utf8'));
const operationCount = Object.values(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('/docs is served with a strict CSP and the security headers, and so are its assets', async () => {
  const res = await fetch(`${BASE}/docs`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const csp = res.headers.get('content-security-policy') ?? '';
  const directives = csp.split(/;\s*/);
  for (const directive of ["default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    assert.ok(directives.includes(directive), `${directive} in ${csp}`);
  }
  const sources = csp.split(/[;\s]+/);
  for (const loose of ["'unsafe-eval'", "'wasm-unsafe-eval'", '*', 'https:', 'http:']) {
    assert.ok(!sources.includes(loose), `no ${loose} in ${csp}`);
  }
  assert.ok(!directives.some((d) => d.startsWith('script-src') && d.includes("'unsafe-inline'")), 'no inline script');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  for (const path of ['/docs.js', '/vendor/swagger-ui/swagger-ui-bundle.js', '/vendor/swagger-ui/swagger-ui.css', '/openapi.json']) {
    const asset = await fetch(`${BASE}${path}`);
    assert.equal(asset.status, 200, path);
    await asset.body?.cancel();
    assert.equal(asset.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(asset.headers.get('referrer-policy'), 'no-referrer', path);
  }
});

test('/docs renders every operation from bundled assets only', async () => {
  const page = await browser.newPage();
  const violations = await watchCsp(page);
  const foreign = [];
  page.on('request', (req) => { if (!req.url().startsWith(BASE)) foreign.push(req.url()); });
  const res = await page.goto(`${BASE}/docs`);
  assert.equal(res.status(), 200);
  await page.waitForSelector('.opblock');
  assert.equal(await page.locator('.opblock').count(), operationCount);
  assert.deepEqual(foreign, [], 'no request leaves the Worker');
  assert.deepEqual(violations, [], 'no CSP violation');
  await page.close();
});

test('Authorize with the password flow, then try GET /me', async () => {
  const address = email('docs');
  const reg = await client(BASE).post('/auth/register', { json: { email: address, password: PASSWORD }, headers: fromAnywhere() });
  assert.equal(reg.status, 201);
  const page = await browser.newPage();
  const violations = await watchCsp(page);
  await page.goto(`${BASE}/docs`);
  await page.click('button.authorize');
  await page.fill('#oauth_username', address);
  await page.fill('#oauth_password', PASSWORD);
  await page.click('.auth-container button.authorize');
  // Swagger UI swaps the Authorize button for Logout once /auth/login answered with a token.
  // (Its buttons carry aria-labels such as "Remove authorization", so match the visible text.)
  const modal = page.locator('.modal-ux');
  await modal.locator('button', { hasText: /^Logout$/ }).waitFor();
  await modal.locator('button', { hasText: /^Close$/ }).click();
  const me = page.locator('#operations-users-me');
  await me.locator('.opblock-summary').click();
  // docs.js sets tryItOutEnabled, so an expanded operation is ready to execute.
  await me.locator('button.execute').click();
  const status = me.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor();
  assert.equal((await status.innerText()).trim(), '200');
  assert.match(await me.locator('.live-responses-table tbody .response-col_description').first().innerText(), new RegExp(address.replace(/[.+]/g, '\\$&')));
  assert.deepEqual(violations, [], 'no CSP violation');
  await page.close();
});
