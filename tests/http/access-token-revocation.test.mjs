// ACCESS_TOKEN_REVOCATION (issue 13 §5), the seeds' jti denylist done per session: with
// `session`, every route that accepts a bearer token checks that the token's session is still
// live and that the user's sessions were not ended after it was issued, so logout, session
// revoke, logout-all, password change and demotion each make the old access token fail at
// once. With the default `expiry`, token-only routes accept it until it expires (no read).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, client, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { startWorker } from '../harness/worker.mjs';

// Every route that accepts a bearer token and reads nothing else for a GET: the token-only
// route first, because that is the one the default mode leaves open.
const BEARER_ROUTES = ['/auth/claims', '/me', '/auth/sessions'];

/** Access tokens carry whole seconds: an ending refuses tokens issued before its second. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));

async function assertRefused(api, token, what) {
  for (const path of BEARER_ROUTES) {
    const res = await api.get(path, { token });
    assert.equal(res.status, 401, `${what}: ${path} answered ${res.status} ${res.text}`);
    assert.equal(res.json.code, 'invalid_token', `${what}: ${path}`);
  }
  // A route that acts on the token's authority is refused too, not only the reads.
  const revoke = await api.del('/auth/sessions/0b5d1e0c-0000-4000-8000-000000000000', { token });
  assert.equal(revoke.status, 401, `${what}: DELETE /auth/sessions answered ${revoke.status}`);
}

async function assertAccepted(api, token, what) {
  for (const path of BEARER_ROUTES) {
    const res = await api.get(path, { token });
    assert.equal(res.status, 200, `${what}: ${path} answered ${res.status} ${res.text}`);
  }
}

describe('ACCESS_TOKEN_REVOCATION=session', () => {
  let server;
  let api;
  before(async () => {
    server = await startWorker({ vars: { ACCESS_TOKEN_REVOCATION: 'session' } });
    api = client(server.url);
  });
  after(() => server?.dispose());

  test('logout ends its access token at once', async () => {
    const user = await signUp(api);
    await assertAccepted(api, user.token, 'before logout');
    assert.equal((await api.post('/auth/logout', { cookie: user.cookie })).status, 204);
    await assertRefused(api, user.token, 'after logout');
  });

  test('revoking one session ends that session\'s access token, and only that one', async () => {
    const user = await signUp(api);
    const other = await logIn(api, user.email, PASSWORD, fromAnywhere());
    const sid = (await api.get('/auth/claims', { token: other.token })).json.sid;
    assert.equal((await api.del(`/auth/sessions/${sid}`, { token: user.token })).status, 204);
    await assertRefused(api, other.token, 'after session revoke');
    await assertAccepted(api, user.token, 'the revoking session');
  });

  test('logout-all ends every access token at once', async () => {
    const user = await signUp(api);
    const other = await logIn(api, user.email, PASSWORD, fromAnywhere());
    await nextSecond();
    assert.equal((await api.post('/auth/logout-all', { token: user.token, cookie: user.cookie })).status, 204);
    await assertRefused(api, user.token, 'the caller after logout-all');
    await assertRefused(api, other.token, 'another session after logout-all');
  });

  test('a password change ends the other sessions\' access tokens at once', async () => {
    const user = await signUp(api);
    const other = await logIn(api, user.email, PASSWORD, fromAnywhere());
    await nextSecond();
    const changed = await api.post('/auth/password', {
      token: user.token, json: { current_password: PASSWORD, new_password: 'a brand new passphrase' },
    });
    assert.equal(changed.status, 204, changed.text);
    await assertRefused(api, other.token, 'another session after a password change');
    // The changer's session goes on: a refresh gives it a token that works.
    const refreshed = await api.post('/auth/refresh', { cookie: user.cookie });
    assert.equal(refreshed.status, 200, refreshed.text);
    await assertAccepted(api, refreshed.json.access_token, 'the changer after refreshing');
  });

  test('a demotion ends the demoted admin\'s access tokens at once', async () => {
    const a = await signUp(api, { tag: 'admin-a' });
    const b = await signUp(api, { tag: 'admin-b' });
    promoteToAdmin(server, a.id);
    promoteToAdmin(server, b.id);
    const adminA = await logIn(api, a.email, PASSWORD, fromAnywhere());
    const adminB = await logIn(api, b.email, PASSWORD, fromAnywhere());
    assert.equal((await api.get('/admin/users', { token: adminB.token })).status, 200);
    await nextSecond();
    const demoted = await api.put(`/admin/users/${b.id}/role`, { token: adminA.token, json: { role: 'user' } });
    assert.equal(demoted.status, 200, demoted.text);
    await assertRefused(api, adminB.token, 'the demoted admin');
    assert.equal((await api.get('/admin/users', { token: adminB.token })).status, 401);
  });

  test('a logged-out session\'s token cannot end the user\'s other sessions', async () => {
    const user = await signUp(api);
    const other = await logIn(api, user.email, PASSWORD, fromAnywhere());
    assert.equal((await api.post('/auth/logout', { cookie: user.cookie })).status, 204);
    const all = await api.post('/auth/logout-all', { token: user.token });
    assert.equal(all.status, 401, all.text);
    await assertAccepted(api, other.token, 'the other session');
  });
});

describe('ACCESS_TOKEN_REVOCATION=expiry (the default)', () => {
  let server;
  let api;
  before(async () => {
    server = await startWorker({});
    api = client(server.url);
  });
  after(() => server?.dispose());

  test('a logged-out session\'s access token still passes the token-only route until it expires', async () => {
    const user = await signUp(api);
    assert.equal((await api.post('/auth/logout', { cookie: user.cookie })).status, 204);
    const claims = await api.get('/auth/claims', { token: user.token });
    assert.equal(claims.status, 200, 'no storage read in this mode: the documented window');
  });
});

describe('ACCESS_TOKEN_REVOCATION is checked at startup', () => {
  test('an unknown value is a 503 misconfigured that names the variable', async () => {
    const server = await startWorker({ vars: { ACCESS_TOKEN_REVOCATION: 'instant' }});
    try {
      const res = await client(server.url).get('/me', { token: 'x' });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.code, 'misconfigured');
      await server.waitForLog(/"detail":"misconfigured: ACCESS_TOKEN_REVOCATION/);
    } finally {
      await server.dispose();
    }
  });
});
