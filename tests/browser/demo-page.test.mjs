// The demo page at /, a static asset (Cloudflare serves it without the Worker), with the
// headers of worker/public/_headers: a strict Content-Security-Policy under which the page
// still works, with no violation reported, plus nosniff and Referrer-Policy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { BASE } from '../harness/server-url.mjs';
import { PASSWORD } from './client-helpers.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('the demo page is served at / as a static asset with a strict CSP and security headers', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${BASE}/`);
  assert.equal(res.status(), 200);
  assert.equal(await page.title(), 'Tollgate');
  const headers = res.headers();
  const csp = headers['content-security-policy'] ?? '';
  for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    assert.ok(csp.split(/;\s*/).includes(directive), `${directive} in ${csp}`);
  }
  const sources = csp.split(/[;\s]+/);
  for (const loose of ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'https:', 'http:']) {
    assert.ok(!sources.includes(loose), `no ${loose} in ${csp}`);
  }
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  // The page's scripts and the client package are assets too, with the same headers.
  for (const path of ['/demo.js', '/demo.css', '/client/index.js']) {
    const asset = await page.request.get(`${BASE}${path}`);
    assert.equal(asset.status(), 200, path);
    assert.equal(asset.headers()['x-content-type-options'], 'nosniff', path);
    assert.equal(asset.headers()['referrer-policy'], 'no-referrer', path);
  }
  await page.close();
});

test('the demo page works under its CSP: the wasm client loads, signs in, calls the API', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchCsp(page);
  await page.goto(`${BASE}/`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
  await page.fill('#email', `csp-${randomBytes(6).toString('hex')}@example.com`);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await page.waitForSelector('#status[data-state="signed-in"]');
  await page.click('#call-me');
  await page.waitForFunction(() => document.querySelector('#me').textContent.startsWith('200'));
  assert.deepEqual(violations, [], 'no CSP violation');
  await context.close();
});

test('the configuration file itself is not served', async () => {
  const res = await fetch(`${BASE}/_headers`);
  assert.equal(res.status, 404);
  await res.body?.cancel();
});
