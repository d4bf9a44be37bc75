// Passkeys end to end: Chromium's real WebAuthn API, driven by the DevTools protocol's
// virtual authenticator (CTAP2, internal transport, resident keys, user verification), against
// a real `wrangler dev`. WebAuthn needs a domain, not an IP address: the pages run on
// http://localhost:<port> (and, for the refusals, on a subdomain and on another port).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { client } from '../harness/api.mjs';
import { launchBrowser } from '../harness/browser.mjs';
import { editUser } from '../harness/kv.mjs';
import { freePort, startWorker } from '../harness/worker.mjs';
import { PASSWORD } from './client-helpers.mjs';

let server, browser, api, port, phishing, phishingPort;
const origin = () => `http://localhost:${port}`;

before(async () => {
  port = await freePort();
  server = await startWorker({
    port,
    vars: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: `http://localhost:${port},http://sub.localhost:${port}` },
  });
  api = client(server.url);
  browser = await launchBrowser();
  // Another site on the same host name (so the RP ID `localhost` is valid there too): a page
  // that asks the authenticator for an assertion, as a phishing page would.
  phishing = createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<!doctype html><title>not tollgate</title>'); });
  phishingPort = await freePort();
  await new Promise((ok) => phishing.listen(phishingPort, '127.0.0.1', ok));
});
after(async () => {
  await browser?.close();
  await server?.dispose();
  phishing?.close();
});

/** A fresh account with a password, signed in: its id, email and access token. */
async function account() {
  const email = `passkey-${randomBytes(6).toString('hex')}@example.com`;
  const reg = await api.post('/auth/register', { json: { email, password: PASSWORD } });
  assert.equal(reg.status, 201, reg.text);
  const login = await api.post('/auth/login', { form: { username: email, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  return { id: reg.json.id, email, token: login.json.access_token };
}

/** A page on `url` in a fresh context, with a virtual authenticator of its own. */
async function pageWithAuthenticator(url = `${origin()}/health`) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  await page.goto(url);
  return { context, page, cdp, authenticatorId };
}

/** Registers a passkey from `page` for the account of `token`: the register response. */
function registerPasskey(page, token) {
  return page.evaluate(async (token) => {
    const auth = { Authorization: `Bearer ${token}` };
    const options = await (await fetch('/auth/passkeys/register/options', { method: 'POST', headers: auth })).json();
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    const res = await fetch('/auth/passkeys/register', {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(credential.toJSON()),
    });
    return { status: res.status, body: await res.json(), options };
  }, token);
}

/**
 * Asks the authenticator of `page` for an assertion with `options` (the server's request
 * options, `rpId` replaced if given): its JSON, or the browser's error name.
 */
function assertion(page, options, rpId) {
  return page.evaluate(async ({ options, rpId }) => {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(rpId ? { ...options, rpId } : options);
    try {
      const credential = await navigator.credentials.get({ publicKey });
      return { json: credential.toJSON() };
    } catch (e) {
      return { error: e.name };
    }
  }, { options, rpId });
}

/**
 * Runs `act` (a refused request) and waits for the server's `passkey_rejected` event naming
 * `reason`, logged after it started: the refusal was for that reason, not another.
 */
async function rejectedFor(reason, act) {
  const start = server.log.length;
  const result = await act();
  const pattern = new RegExp(`"event":"passkey_rejected"[^\\n]*"reason":"${reason}"`);
  const deadline = Date.now() + 5000;
  while (!pattern.test(server.log.slice(start))) {
    if (Date.now() > deadline) throw new Error(`no passkey_rejected ${reason}; log:\n${server.log.slice(start)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return result;
}

async function loginOptions() {
  const res = await api.post('/auth/passkeys/login/options');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Signs in from `page` with its passkey (options and the login POST from the page itself). */
function signInOnPage(page) {
  return page.evaluate(async () => {
    const options = await (await fetch('/auth/passkeys/login/options', { method: 'POST' })).json();
    const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    const json = credential.toJSON();
    const res = await fetch('/auth/passkeys/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(json) });
    return { status: res.status, body: await res.json(), assertion: json };
  });
}

test('register a passkey, sign out, sign in with it (no password), then GET /me', async () => {
  const user = await account();
  const { context, page } = await pageWithAuthenticator();
  const registered = await registerPasskey(page, user.token);
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  // The options are the Level 3 JSON form: discoverable, verified, ES256 and EdDSA, no attestation.
  assert.equal(registered.options.rp.id, 'localhost');
  assert.equal(registered.options.authenticatorSelection.residentKey, 'required');
  assert.deepEqual(registered.options.pubKeyCredParams.map((p) => p.alg).sort((a, b) => a - b), [-8, -7]);
  assert.equal(registered.options.attestation, 'none');
  assert.deepEqual(registered.options.excludeCredentials, []);
  const list = await api.get('/auth/passkeys', { token: user.token });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.passkeys.map((p) => p.id), [registered.body.id]);
  // A second registration excludes the first credential, so this authenticator is not added twice.
  const again = await api.post('/auth/passkeys/register/options', { token: user.token });
  assert.deepEqual(again.json.excludeCredentials.map((c) => c.id), [registered.body.id]);

  // Signed out: the context has no cookie and the page no token.
  assert.deepEqual(await context.cookies(), []);
  const signedIn = await signInOnPage(page);
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  assert.equal(signedIn.body.token_type, 'bearer');
  assert.ok((await context.cookies()).some((c) => c.name === '__Host-tollgate_refresh'), 'the refresh cookie was set');
  const me = await api.get('/me', { token: signedIn.body.access_token });
  assert.equal(me.status, 200);
  assert.equal(me.json.email, user.email);
  // The session is a normal one: the cookie refreshes it.
  const refreshed = await page.evaluate(async () => (await fetch('/auth/refresh', { method: 'POST' })).status);
  assert.equal(refreshed, 200);
  await context.close();
});

test('a replayed assertion is refused', async () => {
  const user = await account();
  const { context, page } = await pageWithAuthenticator();
  assert.equal((await registerPasskey(page, user.token)).status, 201);
  const first = await signInOnPage(page);
  assert.equal(first.status, 200);
  // The same AuthenticationResponseJSON again: its challenge is used up.
  const replay = await rejectedFor('challenge_reused', () => api.post('/auth/passkeys/login', { json: first.assertion }));
  assert.equal(replay.status, 401, replay.text);
  assert.equal(replay.json.code, 'invalid_credentials');
  await context.close();
});

test('an authenticator whose credential was never registered is refused', async () => {
  const user = await account();
  // An authenticator with no credential at all: the browser finds nothing to sign with.
  const empty = await pageWithAuthenticator();
  assert.deepEqual(await assertion(empty.page, await loginOptions()), { error: 'NotAllowedError' });
  await empty.context.close();
  // One holding a discoverable credential for this RP that names the real account (its user
  // handle) but was never registered with Tollgate: the server refuses it.
  const stranger = await pageWithAuthenticator();
  const { generateKeyPairSync } = await import('node:crypto');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const userHandle = Buffer.from(user.id.replaceAll('-', ''), 'hex');
  await stranger.cdp.send('WebAuthn.addCredential', {
    authenticatorId: stranger.authenticatorId,
    credential: {
      credentialId: randomBytes(16).toString('base64'), isResidentCredential: true, rpId: 'localhost',
      privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      userHandle: userHandle.toString('base64'), signCount: 0,
    },
  });
  const forged = await assertion(stranger.page, await loginOptions());
  assert.ok(forged.json, `the browser made an assertion: ${JSON.stringify(forged)}`);
  const res = await rejectedFor('unknown_credential', () => api.post('/auth/passkeys/login', { json: forged.json }));
  assert.equal(res.status, 401, res.text);
  assert.equal(res.json.code, 'invalid_credentials');
  await stranger.context.close();
});

test('an assertion made for another origin or another RP ID is refused', async () => {
  const user = await account();
  const { context, page, cdp, authenticatorId } = await pageWithAuthenticator();
  assert.equal((await registerPasskey(page, user.token)).status, 201);
  // The same key, scoped by the authenticator to another RP ID (`sub.localhost`, valid on
  // that origin, which WEBAUTHN_ORIGINS lists): the signature is right, the RP ID hash is not.
  const { credentials: [real] } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const credential = ({ rpId }) => ({
    credentialId: real.credentialId, isResidentCredential: true, rpId,
    privateKey: real.privateKey, userHandle: real.userHandle, signCount: real.signCount + 10,
  });
  // One credential per id: the copy replaces the original while it is used.
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: real.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential({ rpId: 'sub.localhost' }) });
  await page.goto(`http://sub.localhost:${port}/health`);
  const otherRp = await assertion(page, await loginOptions(), 'sub.localhost');
  assert.ok(otherRp.json, JSON.stringify(otherRp));
  const wrongRp = await rejectedFor('wrong_rp_id', () => api.post('/auth/passkeys/login', { json: otherRp.json }));
  assert.equal(wrongRp.status, 401, wrongRp.text);
  assert.equal(wrongRp.json.code, 'invalid_credentials');
  // A page of another origin on the same host asks for an assertion for Tollgate's RP ID (a
  // phishing page can: the RP ID is valid there) and relays it: its origin is not Tollgate's.
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: real.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential({ rpId: 'localhost' }) });
  await page.goto(`http://localhost:${phishingPort}/`);
  const phished = await assertion(page, await loginOptions());
  assert.ok(phished.json, JSON.stringify(phished));
  const wrongOrigin = await rejectedFor('wrong_origin', () => api.post('/auth/passkeys/login', { json: phished.json }));
  assert.equal(wrongOrigin.status, 401, wrongOrigin.text);
  assert.equal(wrongOrigin.json.code, 'invalid_credentials');
  // And the real thing still works from Tollgate's origin.
  await page.goto(`${origin()}/health`);
  assert.equal((await signInOnPage(page)).status, 200);
  await context.close();
});

test('a removed passkey is refused, and the last way to sign in cannot be removed', async () => {
  const user = await account();
  const { context, page } = await pageWithAuthenticator();
  const registered = await registerPasskey(page, user.token);
  assert.equal(registered.status, 201);
  // With a password, the passkey may go; then the authenticator still signs, and is refused.
  const removed = await api.del(`/auth/passkeys/${registered.body.id}`, { token: user.token });
  assert.equal(removed.status, 204, removed.text);
  assert.deepEqual((await api.get('/auth/passkeys', { token: user.token })).json.passkeys, []);
  const refused = await rejectedFor('unknown_credential', () => signInOnPage(page));
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.equal(refused.body.code, 'invalid_credentials');
  const gone = await api.del(`/auth/passkeys/${registered.body.id}`, { token: user.token });
  assert.equal(gone.status, 404);
  await context.close();

  // An account without a password (as a social-login account is) and one passkey.
  const second = await pageWithAuthenticator();
  const only = await registerPasskey(second.page, user.token);
  assert.equal(only.status, 201);
  editUser(server, user.id, (record) => { record.password_hash = ''; });
  const last = await api.del(`/auth/passkeys/${only.body.id}`, { token: user.token });
  assert.equal(last.status, 409, last.text);
  assert.equal(last.json.code, 'last_login_method');
  // It is still there and still signs in.
  assert.equal((await api.get('/auth/passkeys', { token: user.token })).json.passkeys.length, 1);
  assert.equal((await signInOnPage(second.page)).status, 200);
  await second.context.close();
});

test('a disabled account cannot sign in with its passkey', async () => {
  const user = await account();
  const { context, page } = await pageWithAuthenticator();
  assert.equal((await registerPasskey(page, user.token)).status, 201);
  editUser(server, user.id, (record) => { record.disabled = true; });
  const refused = await signInOnPage(page);
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.code, 'account_disabled');
  await context.close();
});

test('the demo page registers, lists, uses and removes a passkey through @tollgate/client', async () => {
  const { context, page } = await pageWithAuthenticator(`${origin()}/`);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', `demo-${randomBytes(6).toString('hex')}@example.com`);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await page.waitForSelector('#status[data-state="signed-in"]');
  await page.click('#passkey-register');
  await page.waitForSelector('[data-testid="passkey"]');
  assert.equal(await page.locator('[data-testid="passkey"]').count(), 1);
  await page.click('#logout');
  await page.waitForSelector('#status[data-state="signed-out"]');
  // No email, no password: the passkey alone.
  await page.click('#passkey-login');
  await page.waitForSelector('#status[data-state="signed-in"]');
  await page.click('#call-me');
  await page.waitForFunction(() => document.querySelector('#me').textContent.startsWith('200'));
  await page.waitForSelector('[data-testid="passkey"]');
  await page.click('[data-testid="remove-passkey"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="passkey"]').length === 0);
  assert.equal(await page.textContent('#error'), '');
  assert.deepEqual(errors, []);
  await context.close();
});

test('on the demo page, a password login of an account with a passkey continues with the passkey', async () => {
  const { context, page } = await pageWithAuthenticator(`${origin()}/`);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.waitForSelector('body[data-ready="true"]');
  const email = `demo-mfa-${randomBytes(6).toString('hex')}@example.com`;
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await page.waitForSelector('#status[data-state="signed-in"]');
  await page.click('#passkey-register');
  await page.waitForSelector('[data-testid="passkey"]');
  await page.click('#logout');
  await page.waitForSelector('#status[data-state="signed-out"]');
  // The password alone is no longer enough: the second step offers the passkey, no code.
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await page.waitForSelector('#mfa-step:not([hidden])');
  assert.equal(await page.isVisible('#mfa-form'), false, 'no code to type for a passkey-only second factor');
  await page.click('#mfa-passkey');
  await page.waitForSelector('#status[data-state="signed-in"]');
  // The demo page exposes its client as window.tollgateDemo: the session says how it was made.
  assert.deepEqual(await page.evaluate(() => window.tollgateDemo.claims.amr), ['pwd', 'hwk', 'user', 'mfa']);
  assert.equal(await page.textContent('#error'), '');
  assert.deepEqual(errors, []);
  await context.close();
});
