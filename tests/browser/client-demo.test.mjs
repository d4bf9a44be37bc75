// The demo page end to end, in real Chromium against the shared `wrangler dev`: register, the
// claims and countdown, GET /me, sessions with revoke, logout, logout everywhere, and a page
// load resuming (or not) from the refresh cookie.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../harness/browser.mjs';
import { BASE } from '../harness/server-url.mjs';
import { demoEvents, loginOnDemo, openDemo, PASSWORD } from './client-helpers.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('the demo page drives the whole client', async () => {
  const email = `demo-${randomBytes(6).toString('hex')}@example.com`;
  const context = await browser.newContext();
  const { page, errors } = await openDemo(context, BASE);
  assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');

  // Register (then log in) from the form.
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await page.waitForSelector('#status[data-state="signed-in"]');
  const claims = JSON.parse(await page.textContent('#claims'));
  assert.equal(claims.role, 'user');
  assert.match(claims.sid, /\S/);
  assert.equal(typeof claims.exp, 'number');

  // The countdown to the silent refresh is live.
  const countdown = async () => Number.parseFloat(await page.textContent('#countdown'));
  // The page draws the countdown a few times a second; wait for its first number.
  await page.waitForFunction(() => !Number.isNaN(Number.parseFloat(document.querySelector('#countdown').textContent)));
  const before = await countdown();
  await page.waitForTimeout(700);
  const later = await countdown();
  assert.ok(before > 0 && later < before, `countdown ${before} -> ${later}`);

  // A protected route through the client's fetch.
  await page.click('#call-me');
  await page.waitForFunction(() => document.querySelector('#me').textContent.startsWith('200'));
  assert.match(await page.textContent('#me'), new RegExp(email.replace('.', '\\.')));

  // Sessions: this one, then a second browser's, which we revoke from here.
  await page.waitForSelector(`[data-session-id="${claims.sid}"].current`);
  const other = await browser.newContext();
  const second = await openDemo(other, BASE);
  await loginOnDemo(second.page, email);
  const otherSid = JSON.parse(await second.page.textContent('#claims')).sid;
  await page.click('#load-sessions');
  await page.waitForSelector(`[data-testid="revoke-${otherSid}"]`);
  assert.equal(await page.locator('[data-testid="session"]').count(), 2);
  await page.click(`[data-testid="revoke-${otherSid}"]`);
  await page.waitForSelector(`[data-session-id="${otherSid}"]`, { state: 'detached' });
  assert.equal(await page.locator('[data-testid="session"]').count(), 1);
  await other.close();

  // A reload resumes the session from the cookie, without the password.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-in');

  // Logout, and a reload stays signed out.
  await page.click('#logout');
  await page.waitForSelector('#status[data-state="signed-out"]');
  assert.ok((await demoEvents(page)).some((e) => e.includes('signed_out (logout)')));
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');

  // Log in again, then out everywhere.
  await loginOnDemo(page, email);
  await page.click('#logout-all');
  await page.waitForSelector('#status[data-state="signed-out"]');
  assert.ok((await demoEvents(page)).some((e) => e.includes('signed_out (logout_all)')));

  // A wrong password shows the server's code.
  await page.fill('#email', email);
  await page.fill('#password', 'not the password at all');
  await page.click('#login');
  await page.waitForFunction(() => document.querySelector('#error').textContent.includes('invalid_credentials'));
  assert.deepEqual(errors, []);
  await context.close();
});
