// The demo page's forgot-password flow end to end in headless Chromium, against its own
// `wrangler dev` with a mailer: the real webhook receiver verifies the message, and the
// browser follows the very link it carried (APP_URL is the demo page), under the page's CSP.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { startReceiver } from '../harness/webhook-receiver.mjs';
import { freePort, startWorker } from '../harness/worker.mjs';
import { PASSWORD } from './client-helpers.mjs';

const NEW_PASSWORD = 'a brand new passphrase';
let browser;
let receiver;
let server;
before(async () => {
  receiver = await startReceiver();
  const port = await freePort();
  server = await startWorker({
    port,
    vars: { EMAIL_WEBHOOK_URL: receiver.url, APP_URL: `http://127.0.0.1:${port}/` },
    secrets: { EMAIL_WEBHOOK_SECRET: receiver.secret },
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
  await receiver?.close();
});

test('forgot password on the demo page: request, follow the received link, set a new password, log in with it', async () => {
  const email = `forgot-${randomBytes(6).toString('hex')}@example.com`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchCsp(page);
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await page.waitForSelector('#status[data-state="signed-in"]');
  // A new account's address is unverified: the banner says so.
  await page.waitForSelector('#unverified:not([hidden])');
  await page.click('#logout');
  await page.waitForSelector('#status[data-state="signed-out"]');

  await page.fill('#email', email);
  await page.click('#forgot');
  await page.waitForFunction(() => document.querySelector('#notice').textContent.includes('on its way'));
  const message = await receiver.waitFor((m) => m.to === email && m.type === 'password_reset');
  assert.ok(message.link.startsWith(`${server.url}/#token=`), message.link);

  // The link, as the mail would carry it, opened in a fresh tab.
  const linkPage = await context.newPage();
  const linkViolations = await watchCsp(linkPage);
  await linkPage.goto(message.link);
  await linkPage.waitForSelector('#reset-form:not([hidden])');
  // The token is gone from the address bar at once.
  assert.equal(new URL(linkPage.url()).hash, '');
  await linkPage.fill('#new-password', NEW_PASSWORD);
  await linkPage.click('#set-password');
  await linkPage.waitForFunction(() => document.querySelector('#notice').textContent.includes('password is set'));
  assert.equal(await linkPage.textContent('#error'), '');

  await linkPage.fill('#email', email);
  await linkPage.fill('#password', PASSWORD);
  await linkPage.click('#login');
  await linkPage.waitForFunction(() => document.querySelector('#error').textContent.includes('invalid_credentials'));
  await linkPage.fill('#password', NEW_PASSWORD);
  await linkPage.click('#login');
  await linkPage.waitForSelector('#status[data-state="signed-in"]');
  assert.deepEqual([...violations, ...linkViolations], [], 'no CSP violation');
  await context.close();
});
