// TOTP and the login continuation (issue 16), end to end against real `wrangler dev`: every
// code here is computed by the independent `otpauth` library from the secret the server
// showed, never by Tollgate's own code. Enrol and confirm; a password login that answers
// 403 mfa_required and continues at /auth/mfa/verify; a code or recovery code accepted once;
// a code from two steps ago refused; an mfa_token dead after 5 wrong codes; disable, admin
// reset, regeneration; REQUIRE_MFA_FOR_ROLES.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { PASSWORD, client, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';
import { startWorker } from '../harness/worker.mjs';

const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const STEP_MS = 30_000;

/** Waits, if needed, so that the next few seconds stay inside one TOTP step. */
async function midStep() {
  const into = Date.now() % STEP_MS;
  if (into > STEP_MS - 4_000) await new Promise((ok) => setTimeout(ok, STEP_MS - into + 250));
}

/** The code `otpauth` computes for `secret` (base32) `steps` steps from now. */
function code(secret, steps = 0) {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + steps * STEP_MS });
}

const passwordLogin = (api, username, headers = fromAnywhere()) =>
  api.post('/auth/login', { form: { username, password: PASSWORD }, headers });

/** A new user with TOTP on: confirmed with the previous step's code, so the current one is unused. */
async function userWithTotp(api, tag) {
  const user = await signUp(api, { tag });
  await midStep();
  const enrolled = await api.post('/auth/mfa/totp', { token: user.token, json: { current_password: PASSWORD } });
  assert.equal(enrolled.status, 200, enrolled.text);
  const confirmed = await api.post('/auth/mfa/totp/confirm', { token: user.token, json: { code: code(enrolled.json.secret, -1) } });
  assert.equal(confirmed.status, 200, confirmed.text);
  return { ...user, secret: enrolled.json.secret, recoveryCodes: confirmed.json.recovery_codes };
}

/** A password login that must answer mfa_required: its body. */
async function challenge(api, address, headers = fromAnywhere()) {
  const res = await passwordLogin(api, address, headers);
  assert.equal(res.status, 403, res.text);
  assert.equal(res.json.code, 'mfa_required');
  assert.equal(res.cookie, undefined, 'no session before the second step');
  return res.json;
}

const verify = (api, json, headers = fromAnywhere()) => api.post('/auth/mfa/verify', { json, headers });

/** A DELETE with a JSON body: node's http sends such a body only with a Content-Length. */
const delJson = (api, path, token, json) =>
  api.del(path, { token, json, headers: { 'Content-Length': String(Buffer.byteLength(JSON.stringify(json))) } });

describe('TOTP enrolment', () => {
  const api = client(BASE);

  test('needs a bearer token and the current password, then shows a secret that otpauth reads', async () => {
    const user = await signUp(api, { tag: 'totp-enrol' });
    assert.equal((await api.post('/auth/mfa/totp', { json: { current_password: PASSWORD } })).status, 401);
    const wrong = await api.post('/auth/mfa/totp', { token: user.token, json: { current_password: 'not it at all' } });
    assert.equal(wrong.status, 403, wrong.text);
    assert.equal(wrong.json.code, 'incorrect_password');
    const missing = await api.post('/auth/mfa/totp', { token: user.token, json: {} });
    assert.equal(missing.status, 422, missing.text);
    const res = await api.post('/auth/mfa/totp', { token: user.token, json: { current_password: PASSWORD } });
    assert.equal(res.status, 200, res.text);
    assert.match(res.json.secret, /^[A-Z2-7]{32}$/);
    const parsed = OTPAuth.URI.parse(res.json.otpauth_uri);
    assert.ok(parsed instanceof OTPAuth.TOTP);
    assert.equal(parsed.secret.base32, res.json.secret);
    assert.equal(parsed.label, user.email);
    assert.deepEqual([parsed.algorithm, parsed.digits, parsed.period], ['SHA1', 6, 30]);
    // Inactive until confirmed: the password alone still signs in.
    assert.equal((await passwordLogin(api, user.email)).status, 200);
  });

  test('a confirming code from two steps ago is refused; one step of drift is fine; 10 recovery codes once', async () => {
    const user = await signUp(api, { tag: 'totp-confirm' });
    await midStep();
    const { json: { secret } } = await api.post('/auth/mfa/totp', { token: user.token, json: { current_password: PASSWORD } });
    for (const steps of [-2, 2]) {
      const old = await api.post('/auth/mfa/totp/confirm', { token: user.token, json: { code: code(secret, steps) } });
      assert.equal(old.status, 403, `${steps} steps: ${old.text}`);
      assert.equal(old.json.code, 'invalid_code');
    }
    const res = await api.post('/auth/mfa/totp/confirm', { token: user.token, json: { code: code(secret, -1) } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.recovery_codes.length, 10);
    assert.equal(new Set(res.json.recovery_codes).size, 10);
    const again = await api.post('/auth/mfa/totp', { token: user.token, json: { current_password: PASSWORD } });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.code, 'totp_already_enabled');
    const me = await api.get('/me', { token: user.token });
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.json.mfa, { totp: true, recovery_codes: 10 });
  });
});

describe('the login continuation', () => {
  const api = client(BASE);

  test('a right password answers 403 mfa_required; a code at /auth/mfa/verify starts the session, amr otp+mfa', async () => {
    const user = await userWithTotp(api, 'mfa-login');
    const body = await challenge(api, user.email);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'methods', 'mfa_token']);
    assert.deepEqual(body.methods, ['totp', 'recovery_code']);
    const res = await verify(api, { mfa_token: body.mfa_token, code: code(user.secret) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.token_type, 'bearer');
    assert.ok(res.cookie?.value, 'the refresh cookie, as a password login sets it');
    assert.deepEqual(claims(res.json.access_token).amr, ['pwd', 'otp', 'mfa']);
    const me = await api.get('/me', { token: res.json.access_token });
    assert.equal(me.status, 200, me.text);
    const refreshed = await api.post('/auth/refresh', { cookie: res.cookie.pair });
    assert.deepEqual(claims(refreshed.json.access_token).amr, ['pwd', 'otp', 'mfa']);
    // The mfa_token was for that one login.
    const used = await verify(api, { mfa_token: body.mfa_token, code: code(user.secret, 1) });
    assert.equal(used.status, 401, used.text);
    assert.equal(used.json.code, 'mfa_token_invalid');
    // A password login without a second factor says pwd.
    const plain = await signUp(api, { tag: 'mfa-plain' });
    assert.deepEqual(claims(plain.token).amr, ['pwd']);
  });

  test('a used code is refused at the next login, even with a fresh mfa_token', async () => {
    const user = await userWithTotp(api, 'mfa-replay');
    const now = code(user.secret);
    const first = await challenge(api, user.email);
    assert.equal((await verify(api, { mfa_token: first.mfa_token, code: now })).status, 200);
    const second = await challenge(api, user.email);
    const replayed = await verify(api, { mfa_token: second.mfa_token, code: now });
    assert.equal(replayed.status, 403, replayed.text);
    assert.equal(replayed.json.code, 'invalid_code');
    const old = await verify(api, { mfa_token: second.mfa_token, code: code(user.secret, -2) });
    assert.equal(old.status, 403, old.text);
  });

  test('a recovery code signs in once (amr pwd+mfa), and not again', async () => {
    const user = await userWithTotp(api, 'mfa-recovery');
    const [first] = user.recoveryCodes;
    const body = await challenge(api, user.email);
    const res = await verify(api, { mfa_token: body.mfa_token, recovery_code: first });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(claims(res.json.access_token).amr, ['pwd', 'mfa']);
    const again = await challenge(api, user.email);
    const reused = await verify(api, { mfa_token: again.mfa_token, recovery_code: first });
    assert.equal(reused.status, 403, reused.text);
    assert.equal(reused.json.code, 'invalid_code');
    const me = await api.get('/me', { token: res.json.access_token });
    assert.deepEqual(me.json.mfa, { totp: true, recovery_codes: 9 });
  });

  test('five wrong codes kill the mfa_token: the right code is then refused too', async () => {
    const user = await userWithTotp(api, 'mfa-dead');
    const body = await challenge(api, user.email);
    const right = code(user.secret);
    const wrong = right === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await verify(api, { mfa_token: body.mfa_token, code: wrong });
      assert.equal(res.status, 403, `wrong code ${i + 1}: ${res.text}`);
      assert.equal(res.json.code, 'invalid_code');
    }
    const dead = await verify(api, { mfa_token: body.mfa_token, code: right });
    assert.equal(dead.status, 401, dead.text);
    assert.equal(dead.json.code, 'mfa_token_invalid');
    // The wrong codes counted against the account's login throttle (5 per window): even the
    // right password is refused now, and does not reset the count.
    const locked = await passwordLogin(api, user.email);
    assert.equal(locked.status, 429, locked.text);
    assert.equal(locked.json.code, 'too_many_attempts');
  });

  test('one code sent with two mfa_tokens at once signs in once', async () => {
    const user = await userWithTotp(api, 'mfa-race');
    const [a, b] = [await challenge(api, user.email), await challenge(api, user.email)];
    const now = code(user.secret);
    const answers = await Promise.all([a, b].map((c) => verify(api, { mfa_token: c.mfa_token, code: now })));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 403], answers.map((r) => r.text).join('\n'));
  });

  test('bad input is 422 or 401, never a session', async () => {
    const user = await userWithTotp(api, 'mfa-bad');
    const body = await challenge(api, user.email);
    for (const json of [{}, { mfa_token: body.mfa_token }, { mfa_token: body.mfa_token, code: '123456', recovery_code: 'x' }, { code: '123456' }]) {
      const res = await verify(api, json);
      assert.equal(res.status, 422, `${JSON.stringify(json)}: ${res.text}`);
    }
    for (const token of ['', 'nonsense', 'A'.repeat(64)]) {
      const res = await verify(api, { mfa_token: token, code: '123456' });
      assert.equal(res.status, 401, `${token}: ${res.text}`);
      assert.equal(res.json.code, 'mfa_token_invalid');
    }
  });
});

describe('turning TOTP off', () => {
  const api = client(BASE);

  test('DELETE /auth/mfa/totp needs the password and a current code; then the password alone signs in', async () => {
    const user = await userWithTotp(api, 'mfa-disable');
    const noCode = await delJson(api, '/auth/mfa/totp', user.token, { current_password: PASSWORD, code: code(user.secret, -1) });
    assert.equal(noCode.status, 403, noCode.text);
    assert.equal(noCode.json.code, 'invalid_code');
    const noPassword = await delJson(api, '/auth/mfa/totp', user.token, { current_password: 'not the password', code: code(user.secret) });
    assert.equal(noPassword.status, 403, noPassword.text);
    assert.equal(noPassword.json.code, 'incorrect_password');
    const res = await delJson(api, '/auth/mfa/totp', user.token, { current_password: PASSWORD, code: code(user.secret) });
    assert.equal(res.status, 204, res.text);
    assert.equal((await passwordLogin(api, user.email)).status, 200);
  });

  test('the management routes refuse what they cannot do: 401, 404 without TOTP, 422, 403', async () => {
    const plain = await signUp(api, { tag: 'mfa-none' });
    assert.equal((await delJson(api, '/auth/mfa/totp', undefined, { current_password: PASSWORD, code: '123456' })).status, 401);
    for (const [res, what] of [
      [await delJson(api, '/auth/mfa/totp', plain.token, { current_password: PASSWORD, code: '123456' }), 'disable'],
      [await api.post('/auth/mfa/totp/confirm', { token: plain.token, json: { code: '123456' } }), 'confirm'],
      [await api.post('/auth/mfa/recovery-codes', { token: plain.token, json: { current_password: PASSWORD } }), 'regenerate'],
    ]) {
      assert.equal(res.status, 404, `${what}: ${res.text}`);
      assert.equal(res.json.code, 'not_found');
    }
    const user = await userWithTotp(api, 'mfa-refusals');
    const noCode = await api.post('/auth/mfa/totp/confirm', { token: user.token, json: {} });
    assert.equal(noCode.status, 422, noCode.text);
    const neither = await api.post('/auth/mfa/recovery-codes', { token: user.token, json: {} });
    assert.equal(neither.status, 422, neither.text);
    assert.deepEqual(neither.json.errors.map((e) => [e.field, e.code]), [['current_password', 'missing_field']]);
    const wrong = await api.post('/auth/mfa/recovery-codes', { token: user.token, json: { current_password: 'not the password' } });
    assert.equal(wrong.status, 403, wrong.text);
    assert.equal(wrong.json.code, 'incorrect_password');
    // A current code proves it too (and is consumed).
    const byCode = await api.post('/auth/mfa/recovery-codes', { token: user.token, json: { code: code(user.secret) } });
    assert.equal(byCode.status, 200, byCode.text);
  });

  test('regenerating recovery codes replaces the whole set', async () => {
    const user = await userWithTotp(api, 'mfa-regen');
    const res = await api.post('/auth/mfa/recovery-codes', { token: user.token, json: { current_password: PASSWORD } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.recovery_codes.length, 10);
    const body = await challenge(api, user.email);
    const old = await verify(api, { mfa_token: body.mfa_token, recovery_code: user.recoveryCodes[0] });
    assert.equal(old.status, 403, old.text);
    const fresh = await verify(api, { mfa_token: body.mfa_token, recovery_code: res.json.recovery_codes[0] });
    assert.equal(fresh.status, 200, fresh.text);
  });

  test('an admin resets another user\'s factors with DELETE /admin/users/{id}/mfa; a user may not', async () => {
    const boss = await signUp(api, { tag: 'mfa-admin' });
    promoteToAdmin({ persistDir: process.env.TOLLGATE_PERSIST_DIR }, boss.id);
    const admin = await logIn(api, boss.email, PASSWORD, fromAnywhere());
    const user = await userWithTotp(api, 'mfa-reset');
    const other = await signUp(api, { tag: 'mfa-nosy' });
    const refused = await api.del(`/admin/users/${user.id}/mfa`, { token: other.token });
    assert.equal(refused.status, 403, refused.text);
    const res = await api.del(`/admin/users/${user.id}/mfa`, { token: admin.token });
    assert.equal(res.status, 204, res.text);
    assert.equal((await passwordLogin(api, user.email)).status, 200);
    const unknown = await api.del('/admin/users/00000000-0000-4000-8000-000000000000/mfa', { token: admin.token });
    assert.equal(unknown.status, 404, unknown.text);
  });
});

describe('REQUIRE_MFA_FOR_ROLES=admin', () => {
  let server;
  let api;
  before(async () => { server = await startWorker({ vars: { REQUIRE_MFA_FOR_ROLES: 'admin' } }); api = client(server.url); });
  after(async () => { await server?.dispose(); });

  test('an admin without a second factor gets only the enrolment scope, enrols, then signs in with it', async () => {
    const boss = await signUp(api, { tag: 'mfa-required' });
    promoteToAdmin(server, boss.id);
    const login = await passwordLogin(api, boss.email);
    assert.equal(login.status, 200, login.text);
    assert.equal(login.json.scope, 'mfa:enroll');
    const token = login.json.access_token;
    assert.equal((await api.get('/admin/users', { token })).status, 403);
    assert.equal((await api.get('/me', { token })).status, 403);
    await midStep();
    const enrolled = await api.post('/auth/mfa/totp', { token, json: { current_password: PASSWORD } });
    assert.equal(enrolled.status, 200, enrolled.text);
    const confirmed = await api.post('/auth/mfa/totp/confirm', { token, json: { code: code(enrolled.json.secret, -1) } });
    assert.equal(confirmed.status, 200, confirmed.text);
    const body = await challenge(api, boss.email);
    const res = await verify(api, { mfa_token: body.mfa_token, code: code(enrolled.json.secret) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.scope, 'profile sessions users:read users:write');
    assert.equal((await api.get('/admin/users', { token: res.json.access_token })).status, 200);
    // A user (not in the list) signs in as before.
    const user = await signUp(api, { tag: 'mfa-not-required' });
    assert.equal(claims(user.token).scope, 'profile sessions');
  });
});
