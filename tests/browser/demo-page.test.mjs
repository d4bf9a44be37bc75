import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../harness/browser.mjs';
import { BASE } from '../harness/server-url.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('the demo page is served at / as a static asset', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${BASE}/`);
  assert.equal(res.status(), 200);
  assert.equal(await page.title(), 'Tollgate');
  await page.close();
});
