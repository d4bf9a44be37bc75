// Passkeys over HTTP (issue 16), with a software authenticator that signs with node's crypto
// (tests/harness/webauthn.mjs): ES256 (verified by the Worker through WebCrypto) and EdDSA,
// the routes' answers and refusals, and what a browser would never send: unset flags, a
// counter that does not grow, an origin or RP ID of another site, bodies that are not
// WebAuthn at all. The browser half (Chromium's virtual authenticator) is
// tests/browser/passkeys.test.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, client, fromAnywhere, signUp } from '../harness/api.mjs';
import { editUser } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';
import { SoftAuthenticator } from '../harness/webauthn.mjs';
import { freePort, startWorker } from '../harness/worker.mjs';

let server, api, origin;
before(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  server = await startWorker({ port, vars: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin } });
  api = client(server.url);
});
after(() => server?.dispose());

/** Every JSON event line of the server's log from `start` on. */
function events(start = 0) {
  return server.log.slice(start).split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((l) => l.startsWith('{') && l.includes('"event"')).map((l) => JSON.parse(l.slice(0, l.lastIndexOf('}') + 1)));
}

/** Waits for a `passkey_rejected` event with `reason` logged after `start`. */
async function rejected(start, reason) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = events(start).find((e) => e.event === 'passkey_rejected' && e.reason === reason);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no passkey_rejected ${reason}: ${JSON.stringify(events(start))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A signed-in account with a registered passkey of `alg`. */
async function withPasskey(alg = -7) {
  const user = await signUp(api, { tag: 'passkey' });
  const authenticator = new SoftAuthenticator({ alg });
  const options = await api.post('/auth/passkeys/register/options', { token: user.token });
  assert.equal(options.status, 200, options.text);
  const registered = await api.post('/auth/passkeys/register', { token: user.token, json: authenticator.register(options.json, { origin }) });
  assert.equal(registered.status, 201, registered.text);
  return { user, authenticator, passkey: registered.json };
}

async function loginOptions() {
  const res = await api.post('/auth/passkeys/login/options');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

const signIn = (json) => api.post('/auth/passkeys/login', { json, headers: fromAnywhere() });

describe('registering and signing in', () => {
  for (const [name, alg] of [['ES256', -7], ['EdDSA', -8]]) {
    test(`a ${name} passkey registers and signs in, starting a session like a password login`, async () => {
      const { user, authenticator, passkey } = await withPasskey(alg);
      assert.equal(passkey.alg, alg);
      assert.equal(passkey.kind, 'hwk');
      assert.equal(passkey.last_used_at, null);
      const res = await signIn(authenticator.assert(await loginOptions(), { origin }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.token_type, 'bearer');
      assert.ok(res.cookie?.value, 'the refresh cookie is set');
      const me = await api.get('/me', { token: res.json.access_token });
      assert.equal(me.json.email, user.email);
      // The cookie refreshes the session like any other.
      assert.equal((await api.post('/auth/refresh', { cookie: res.cookie.pair })).status, 200);
      const listed = await api.get('/auth/passkeys', { token: user.token });
      assert.equal(listed.status, 200);
      assert.equal(listed.json.passkeys.length, 1);
      assert.ok(listed.json.passkeys[0].last_used_at, 'the sign-in is recorded');
      assert.ok(!('public_key' in listed.json.passkeys[0]), 'the key itself is not shown');
      const e = events().filter((x) => x.user_id === user.id).map((x) => x.event);
      assert.ok(e.includes('passkey_registered') && e.includes('login_succeeded'), JSON.stringify(e));
    });
  }

  test('the options are the WebAuthn Level 3 JSON forms', async () => {
    const { user, passkey } = await withPasskey();
    const created = (await api.post('/auth/passkeys/register/options', { token: user.token })).json;
    assert.equal(created.rp.id, 'localhost');
    assert.equal(Buffer.from(created.user.id, 'base64url').toString('hex'), user.id.replaceAll('-', ''));
    assert.equal(created.user.name, user.email);
    assert.deepEqual(created.pubKeyCredParams, [{ type: 'public-key', alg: -8 }, { type: 'public-key', alg: -7 }]);
    assert.deepEqual(created.authenticatorSelection, { residentKey: 'required', requireResidentKey: true, userVerification: 'required' });
    assert.equal(created.attestation, 'none');
    assert.deepEqual(created.excludeCredentials, [{ type: 'public-key', id: passkey.id, transports: ['internal'] }]);
    const requested = await loginOptions();
    assert.deepEqual(requested.allowCredentials, []);
    assert.equal(requested.rpId, 'localhost');
    assert.equal(requested.userVerification, 'required');
    assert.notEqual(requested.challenge, (await loginOptions()).challenge);
  });
});

describe('a passkey as the second step of a password login', () => {
  const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  const stepOptions = async (mfaToken) => {
    const res = await api.post('/auth/passkeys/login/options', { json: { mfa_token: mfaToken } });
    assert.equal(res.status, 200, res.text);
    return res.json;
  };

  test('an account with a passkey needs it after the password; it answers mfa_required once', async () => {
    const { user, authenticator } = await withPasskey();
    const login = await api.post('/auth/login', { form: { username: user.email, password: PASSWORD }, headers: fromAnywhere() });
    assert.equal(login.status, 403, login.text);
    assert.equal(login.json.code, 'mfa_required');
    assert.deepEqual(login.json.methods, ['passkey']);
    assert.ok(!login.cookie, 'no session before the second step');
    const mfaToken = login.json.mfa_token;
    const options = await stepOptions(mfaToken);
    assert.deepEqual(options.allowCredentials, [], 'the options name no credential of the account');

    // Another account's passkey does not answer for this login: a wrong code.
    const other = await withPasskey();
    const wrong = await api.post('/auth/mfa/verify', { json: { mfa_token: mfaToken, passkey: other.authenticator.assert(options, { origin }) } });
    assert.equal(wrong.status, 403, wrong.text);
    assert.equal(wrong.json.code, 'invalid_code');

    const res = await api.post('/auth/mfa/verify', { json: { mfa_token: mfaToken, passkey: authenticator.assert(await stepOptions(mfaToken), { origin }) } });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.cookie?.value, 'the refresh cookie is set');
    assert.deepEqual(claims(res.json.access_token).amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.equal((await api.get('/me', { token: res.json.access_token })).json.email, user.email);
    // The pending login is used up.
    const again = await api.post('/auth/mfa/verify', { json: { mfa_token: mfaToken, passkey: authenticator.assert(await stepOptions(mfaToken), { origin }) } });
    assert.equal(again.status, 401, again.text);
    assert.equal(again.json.code, 'mfa_token_invalid');
  });

  test('a passkey sign-in says how it was made (amr)', async () => {
    const { authenticator } = await withPasskey();
    const res = await signIn(authenticator.assert(await loginOptions(), { origin }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(claims(res.json.access_token).amr, ['hwk', 'user', 'mfa']);
  });

  test('bodies that do not say one factor, or no token, are refused with a field', async () => {
    const cases = [
      [{ mfa_token: 'x', passkey: 'not an object' }, 'passkey'],
      [{ mfa_token: 'x', passkey: {}, code: '123456' }, 'passkey'],
    ];
    for (const [json, field] of cases) {
      const res = await api.post('/auth/mfa/verify', { json });
      assert.equal(res.status, 422, res.text);
      assert.deepEqual(res.json.errors.map((e) => e.field), [field], JSON.stringify(json));
    }
    const badType = await api.post('/auth/passkeys/login/options', { json: { mfa_token: 7 } });
    assert.equal(badType.status, 422, badType.text);
    assert.equal(badType.json.errors[0].field, 'mfa_token');
    const notAToken = await api.post('/auth/passkeys/login/options', { json: { mfa_token: 'not a token' } });
    assert.equal(notAToken.status, 401, notAToken.text);
    assert.equal(notAToken.json.code, 'mfa_token_invalid');
  });
});

describe('refusals', () => {
  test('an assertion is refused for each check it fails, and says why only in the log', async () => {
    const { authenticator } = await withPasskey();
    const cases = [
      ['user_not_present', (o) => authenticator.assert(o, { origin, flags: 0x04 })],
      ['user_not_verified', (o) => authenticator.assert(o, { origin, flags: 0x01 })],
      ['wrong_origin', (o) => authenticator.assert(o, { origin: 'https://evil.example' })],
      ['wrong_rp_id', (o) => authenticator.assert(o, { origin, rpId: 'evil.example' })],
      ['wrong_challenge', (o) => authenticator.assert({ ...o, challenge: Buffer.alloc(74).toString('base64url') }, { origin })],
      ['bad_signature', (o) => {
        const json = authenticator.assert(o, { origin });
        const data = Buffer.from(json.response.authenticatorData, 'base64url');
        data[36] ^= 1; // the counter, after signing
        return { ...json, response: { ...json.response, authenticatorData: data.toString('base64url') } };
      }],
      ['malformed_response', (o) => ({ ...authenticator.assert(o, { origin }), rawId: 'AAAA' })],
    ];
    for (const [reason, make] of cases) {
      const start = server.log.length;
      const res = await signIn(make(await loginOptions()));
      assert.equal(res.status, 401, `${reason}: ${res.text}`);
      assert.equal(res.json.code, 'invalid_credentials', reason);
      await rejected(start, reason);
    }
    // After all that, the real thing still works: nothing was used up by the refusals.
    assert.equal((await signIn(authenticator.assert(await loginOptions(), { origin }))).status, 200);
  });

  test('a challenge is used once: the same assertion, or a second one for it, is refused', async () => {
    const { authenticator } = await withPasskey(-8);
    const options = await loginOptions();
    const first = authenticator.assert(options, { origin });
    assert.equal((await signIn(first)).status, 200);
    let start = server.log.length;
    assert.equal((await signIn(first)).status, 401);
    await rejected(start, 'challenge_reused');
    // A fresh assertion (higher counter) over the used challenge.
    start = server.log.length;
    assert.equal((await signIn(authenticator.assert(options, { origin }))).status, 401);
    await rejected(start, 'challenge_reused');
  });

  test('a counter that does not grow is refused and logged as a warning (a cloned key)', async () => {
    const { authenticator, user } = await withPasskey();
    assert.equal((await signIn(authenticator.assert(await loginOptions(), { origin, counter: 10 }))).status, 200);
    for (const counter of [10, 9]) {
      const start = server.log.length;
      const res = await signIn(authenticator.assert(await loginOptions(), { origin, counter }));
      assert.equal(res.status, 401, res.text);
      const event = await rejected(start, 'counter_not_increased');
      assert.equal(event.level, 'warn');
      assert.equal(event.user_id, user.id);
    }
    assert.equal((await signIn(authenticator.assert(await loginOptions(), { origin, counter: 11 }))).status, 200);
  });

  test('registration is refused for a wrong origin, RP ID, flag, challenge or a duplicate', async () => {
    const { user, authenticator } = await withPasskey();
    const options = async () => (await api.post('/auth/passkeys/register/options', { token: user.token })).json;
    const fresh = new SoftAuthenticator();
    for (const [reason, json] of [
      ['wrong_origin', fresh.register(await options(), { origin: 'https://evil.example' })],
      ['wrong_rp_id', fresh.register(await options(), { origin, rpId: 'evil.example' })],
      ['user_not_verified', fresh.register(await options(), { origin, flags: 0x01 })],
      ['credential_not_accepted', authenticator.register(await options(), { origin })],
    ]) {
      const start = server.log.length;
      const res = await api.post('/auth/passkeys/register', { token: user.token, json });
      assert.equal(res.status, 422, `${reason}: ${res.text}`);
      assert.deepEqual(res.json.errors.map((e) => [e.field, e.code]), [['credential', 'invalid_value']]);
      await rejected(start, reason);
    }
    // Options issued for another account do not register on this one.
    const other = await signUp(api, { tag: 'other' });
    const theirs = (await api.post('/auth/passkeys/register/options', { token: other.token })).json;
    const start = server.log.length;
    const res = await api.post('/auth/passkeys/register', { token: user.token, json: fresh.register(theirs, { origin }) });
    assert.equal(res.status, 422);
    await rejected(start, 'wrong_challenge');
    assert.equal((await api.get('/auth/passkeys', { token: user.token })).json.passkeys.length, 1);
  });

  test('a disabled account is refused as login refuses it', async () => {
    const { user, authenticator } = await withPasskey();
    editUser(server, user.id, (record) => { record.disabled = true; });
    const res = await signIn(authenticator.assert(await loginOptions(), { origin }));
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json.code, 'account_disabled');
  });

  test('bodies that are not WebAuthn JSON, and requests without a token or the scope', async () => {
    const { user } = await withPasskey();
    assert.equal((await api.post('/auth/passkeys/login', { body: 'x', contentType: 'text/plain' })).status, 415);
    assert.equal((await api.post('/auth/passkeys/register', { token: user.token, body: 'x', contentType: 'text/plain' })).status, 415);
    const notJson = await api.post('/auth/passkeys/login', { body: '{', contentType: 'application/json' });
    assert.equal(notJson.status, 422);
    assert.equal(notJson.json.code, 'malformed_body');
    for (const body of [[], 'str', {}, { id: 1 }, { id: 'AA', rawId: 'AA', type: 'public-key', response: { clientDataJSON: '!!' } }]) {
      const res = await signIn(body);
      assert.equal(res.status, 401, JSON.stringify(body));
    }
    const notCredential = await api.post('/auth/passkeys/register', { token: user.token, json: { nope: true } });
    assert.equal(notCredential.status, 422);
    for (const [method, path] of [['POST', '/auth/passkeys/register/options'], ['POST', '/auth/passkeys/register'], ['GET', '/auth/passkeys'], ['DELETE', '/auth/passkeys/abc']]) {
      const res = await api.call(method, path, method === 'POST' && path.endsWith('register') ? { json: {} } : {});
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.json.code, 'not_authenticated');
    }
    // A session narrowed to `profile` cannot manage passkeys (they are sign-in methods, like
    // the password, which needs `sessions`). An account without a passkey: with one, the
    // password alone would not sign in (the passkey is a second factor).
    const plain = await signUp(api, { tag: 'narrowed' });
    const narrowed = await api.post('/auth/login', { form: { username: plain.email, password: PASSWORD, scope: 'profile' }, headers: fromAnywhere() });
    const token = narrowed.json.access_token;
    for (const [method, path] of [['POST', '/auth/passkeys/register/options'], ['POST', '/auth/passkeys/register'], ['GET', '/auth/passkeys'], ['DELETE', '/auth/passkeys/abc']]) {
      const res = await api.call(method, path, { token, ...(path.endsWith('register') ? { json: {} } : {}) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.json.code, 'forbidden');
    }
  });
});

describe('removing', () => {
  test('a removed passkey no longer signs in; an unknown one is 404', async () => {
    const { user, authenticator, passkey } = await withPasskey();
    assert.equal((await api.del(`/auth/passkeys/${passkey.id}`, { token: user.token })).status, 204);
    const start = server.log.length;
    const res = await signIn(authenticator.assert(await loginOptions(), { origin }));
    assert.equal(res.status, 401);
    await rejected(start, 'unknown_credential');
    const again = await api.del(`/auth/passkeys/${passkey.id}`, { token: user.token });
    assert.equal(again.status, 404);
    assert.equal(again.json.code, 'not_found');
    assert.ok(events().some((e) => e.event === 'passkey_removed' && e.user_id === user.id));
  });

  test('the last way to sign in cannot be removed (409 last_login_method)', async () => {
    const { user, authenticator, passkey } = await withPasskey();
    const second = new SoftAuthenticator({ alg: -8 });
    const options = (await api.post('/auth/passkeys/register/options', { token: user.token })).json;
    assert.equal((await api.post('/auth/passkeys/register', { token: user.token, json: second.register(options, { origin }) })).status, 201);
    // No password (as an account made by social login has none) and two passkeys: one may go.
    editUser(server, user.id, (record) => { record.password_hash = ''; });
    assert.equal((await api.del(`/auth/passkeys/${second.id}`, { token: user.token })).status, 204);
    const last = await api.del(`/auth/passkeys/${passkey.id}`, { token: user.token });
    assert.equal(last.status, 409, last.text);
    assert.equal(last.json.code, 'last_login_method');
    assert.equal((await signIn(authenticator.assert(await loginOptions(), { origin }))).status, 200);
  });
});

test('without WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS or APP_URL the passkey routes answer 503 misconfigured', async () => {
  // The suite's shared server runs wrangler.toml's defaults, which name no relying party.
  const shared = client(BASE);
  const { token } = await signUp(shared, { tag: 'no-rp' });
  for (const path of ['/auth/passkeys/register/options', '/auth/passkeys/register', '/auth/passkeys/login/options', '/auth/passkeys/login']) {
    const res = await shared.post(path, { json: {}, token });
    assert.equal(res.status, 503, path);
    assert.equal(res.json.code, 'misconfigured', path);
  }
  // The rest of the API is unaffected, passkey listing included.
  assert.equal((await shared.get('/health')).status, 200);
  assert.deepEqual((await shared.get('/auth/passkeys', { token })).json, { passkeys: [] });
});

test('a WEBAUTHN_ORIGINS or WEBAUTHN_RP_ID that browsers would refuse makes every route answer 503 misconfigured, naming the var', async () => {
  for (const [vars, name] of [
    [{ WEBAUTHN_ORIGINS: 'http://example.com' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://evil.example' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_ID: '127.0.0.1', WEBAUTHN_ORIGINS: 'http://127.0.0.1:8787' }, 'WEBAUTHN_RP_ID'],
  ]) {
    const bad = await startWorker({ vars });
    try {
      const api = client(bad.url);
      for (const [method, path] of [['POST', '/auth/register'], ['POST', '/auth/passkeys/login/options'], ['GET', '/health']]) {
        const res = await api.call(method, path, method === 'POST' ? { json: {} } : {});
        assert.equal(res.status, 503, `${JSON.stringify(vars)}: ${method} ${path}`);
        assert.equal(res.json.code, 'misconfigured');
      }
      await bad.waitForLog(new RegExp(`"detail":"misconfigured: ${name}`));
    } finally {
      await bad.dispose();
    }
  }
});
