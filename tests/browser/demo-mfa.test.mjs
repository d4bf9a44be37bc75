// The demo page's second factor in real Chromium, under its strict CSP: set up an
// authenticator app from the QR code (read back from the canvas's pixels by jsQR, a decoder
// independent of the library that drew it, and it must hold the otpauth URI), turn it on with
// a code computed by the independent `otpauth` library, keep the recovery codes, then sign out
// and sign in through the second step.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import jsQR from 'jsqr';
import * as OTPAuth from 'otpauth';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { BASE } from '../harness/server-url.mjs';
import { PASSWORD } from './client-helpers.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const code = (secret, steps = 0) => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) })
  .generate({ timestamp: Date.now() + steps * 30_000 });

/** Waits, if needed, so that the next several seconds stay inside one TOTP step. */
async function midStep() {
  const into = Date.now() % 30_000;
  if (into > 20_000) await new Promise((ok) => setTimeout(ok, 30_000 - into + 250));
}

/**
 * Waits for `selector`; if it never appears, fails with what the page's error line says (the
 * server's code, or the client's), not only with the selector that timed out.
 */
async function see(page, selector) {
  try {
    await page.waitForSelector(selector);
  } catch (error) {
    const shown = await page.textContent('#error').catch(() => null);
    const status = await page.getAttribute('#status', 'data-state').catch(() => null);
    throw new Error(`${selector} never appeared; the page's error line: ${JSON.stringify(shown)}, status: ${status}`, { cause: error });
  }
}

test('the demo page sets up TOTP with a QR code and signs in through the second step', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchCsp(page);
  await page.goto(`${BASE}/`);
  await see(page, 'body[data-ready="true"]');
  const email = `demo-mfa-${randomBytes(6).toString('hex')}@example.com`;
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await see(page, '#status[data-state="signed-in"]');
  await see(page, '#mfa-state[data-totp="false"]');

  await page.fill('#totp-password', PASSWORD);
  await page.click('#totp-enrol');
  await see(page, '#totp-setup:not([hidden])');
  const secret = await page.textContent('#totp-secret');
  const uri = await page.getAttribute('#totp-qr', 'data-uri');
  assert.equal(OTPAuth.URI.parse(uri).secret.base32, secret);
  // The QR code on the canvas says exactly that URI. Not @paulmillr/qr's own decoder: it threw
  // on 2 of 500 codes its encoder drew for such URIs (random secrets), valid codes that jsQR
  // read, as it read 3,000 of 3,000.
  const image = await page.evaluate(() => {
    const canvas = document.getElementById('totp-qr');
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    return { width: canvas.width, height: canvas.height, data: Array.from(data) };
  });
  assert.equal(jsQR(Uint8ClampedArray.from(image.data), image.width, image.height)?.data, uri);

  await midStep();
  await page.fill('#totp-code', code(secret, -1));
  await page.click('#totp-confirm');
  await see(page, '#mfa-state[data-totp="true"]');
  const recovery = (await page.textContent('#recovery-codes')).split('\n');
  assert.equal(recovery.length, 10);

  await page.click('#logout');
  await see(page, '#status[data-state="signed-out"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await see(page, '#mfa-step:not([hidden])');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
  await page.fill('#mfa-code', code(secret));
  await page.click('#mfa-continue');
  await see(page, '#status[data-state="signed-in"]');
  const amr = await page.evaluate(() => window.tollgateDemo.claims.amr);
  assert.deepEqual(amr, ['pwd', 'otp', 'mfa']);

  // A recovery code works too, once.
  await page.click('#logout');
  await see(page, '#status[data-state="signed-out"]');
  await page.click('#login');
  await see(page, '#mfa-step:not([hidden])');
  await page.fill('#mfa-code', recovery[0]);
  await page.check('#mfa-use-recovery');
  await page.click('#mfa-continue');
  await see(page, '#status[data-state="signed-in"]');
  assert.deepEqual(violations, [], 'no CSP violation');
  await context.close();
});
