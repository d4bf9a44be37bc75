// Disabled accounts (issue 19 E): `PUT /admin/users/{id}/disabled` ends every session of the
// user; while disabled, refresh answers 401, routes that read the user refuse its access
// tokens, and a login with the right password answers 403 account_disabled, while a wrong
// password gets the usual 401. The listing shows the flag, and both changes are logged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, client, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { startWorker } from '../harness/worker.mjs';

// Its own server: the last-admin rule needs a known set of admins, and the events are read
// from its log.
let server;
let api;
before(async () => {
  server = await startWorker({});
  api = client(server.url);
});
after(() => server?.dispose());

/** A new admin (promoted in KV, as `tollgate user add --role admin` would). */
async function newAdmin(tag) {
  const user = await signUp(api, { tag });
  promoteToAdmin(server, user.id);
  return { ...(await logIn(api, user.email)), id: user.id, email: user.email };
}

/** Every JSON event line of the server's log so far. */
function events() {
  return server.log.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((l) => l.startsWith('{') && l.includes('"event"')).map((l) => JSON.parse(l.slice(0, l.lastIndexOf('}') + 1)));
}

/** The listing entry of user `id`, paging through `/admin/users`. */
async function listed(token, id) {
  let cursor = '';
  for (;;) {
    const page = await api.get(`/admin/users${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    assert.equal(page.status, 200, page.text);
    const found = page.json.users.find((u) => u.id === id);
    if (found) return found;
    if (!page.json.cursor) return undefined;
    cursor = page.json.cursor;
  }
}

const setDisabled = (id, token, disabled) => api.put(`/admin/users/${id}/disabled`, { token, json: { disabled } });

describe('disabled accounts', () => {
  let admin;
  before(async () => {
    admin = await newAdmin('disabling-admin');
  });

  test('the last admin cannot disable themselves (409 last_admin, nothing changed)', async () => {
    const self = await setDisabled(admin.id, admin.token, true);
    assert.equal(self.status, 409, self.text);
    assert.equal(self.json.code, 'last_admin');
    const me = await api.get('/me', { token: admin.token });
    assert.equal(me.status, 200, 'the refused change ended no session');
  });

  test('only an admin may disable, with a boolean, a user that exists', async () => {
    const user = await signUp(api);
    assert.equal((await api.put(`/admin/users/${user.id}/disabled`, { json: { disabled: true } })).status, 401);
    const byUser = await setDisabled(user.id, user.token, true);
    assert.equal(byUser.status, 403, byUser.text);
    assert.equal(byUser.json.code, 'forbidden');
    for (const body of [{}, { disabled: 'yes' }, { disabled: 1 }, { disabled: null }]) {
      const bad = await api.put(`/admin/users/${user.id}/disabled`, { token: admin.token, json: body });
      assert.equal(bad.status, 422, `${JSON.stringify(body)}: ${bad.text}`);
      assert.deepEqual(bad.json.errors.map((e) => [e.field, e.code]), [['disabled', 'missing_field']]);
    }
    const missing = await setDisabled('0b5d1e0c-0000-4000-8000-000000000000', admin.token, true);
    assert.equal(missing.status, 404, missing.text);
    assert.equal((await api.get('/me', { token: user.token })).status, 200, 'nothing changed');
  });

  test('a disabled user has no session, no refresh, no token and no login; enabled, they log in again', async () => {
    const user = await signUp(api);
    const disabled = await setDisabled(user.id, admin.token, true);
    assert.equal(disabled.status, 200, disabled.text);
    assert.equal(disabled.json.id, user.id);
    assert.equal(disabled.json.email, user.email);
    assert.equal(disabled.json.disabled, true);

    const refresh = await api.post('/auth/refresh', { cookie: user.cookie });
    assert.equal(refresh.status, 401, refresh.text);
    assert.equal(refresh.json.code, 'invalid_refresh_token');
    for (const read of [api.get('/me', { token: user.token }), api.get('/auth/sessions', { token: user.token })]) {
      const res = await read;
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json.code, 'invalid_token');
    }

    const headers = fromAnywhere();
    const wrong = await api.post('/auth/login', { form: { username: user.email, password: 'wrong password!' }, headers });
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal(wrong.json.code, 'invalid_credentials', 'a wrong password learns nothing');
    const right = await api.post('/auth/login', { form: { username: user.email, password: PASSWORD }, headers });
    assert.equal(right.status, 403, right.text);
    assert.equal(right.json.code, 'account_disabled');
    assert.equal(right.cookie, undefined, 'no session cookie');
    assert.equal(right.json.access_token, undefined);

    const entry = await listed(admin.token, user.id);
    assert.equal(entry?.disabled, true, JSON.stringify(entry));
    assert.equal((await listed(admin.token, admin.id))?.disabled, false);

    const enabled = await setDisabled(user.id, admin.token, false);
    assert.equal(enabled.status, 200, enabled.text);
    assert.equal(enabled.json.disabled, false);
    assert.equal((await listed(admin.token, user.id))?.disabled, false);
    const again = await logIn(api, user.email, PASSWORD, headers);
    assert.equal((await api.get('/me', { token: again.token })).status, 200);
    assert.equal((await api.post('/auth/refresh', { cookie: user.cookie })).status, 401, 'old sessions stay ended');

    await server.waitForLog(/"event":"user_enabled"/);
    const seen = events();
    const by = (kind) => seen.filter((e) => e.event === kind && e.user_id === user.id);
    assert.deepEqual(by('user_disabled').map((e) => e.by), [admin.id]);
    assert.deepEqual(by('user_enabled').map((e) => e.by), [admin.id]);
    assert.ok(by('login_failed').some((e) => e.reason === 'account_disabled'), 'the refused login is logged');
  });

  test('a disabled admin keeps no admin rights, and with another admin one may disable oneself', async () => {
    const other = await newAdmin('other-admin');
    const fresh = await signUp(api);
    assert.equal((await setDisabled(other.id, admin.token, true)).status, 200);
    const refused = await setDisabled(fresh.id, other.token, true);
    assert.equal(refused.status, 401, refused.text);
    assert.equal((await api.get('/admin/users', { token: other.token })).status, 401);
    // A disabled admin is no other admin: the rule still holds for the one left.
    const self = await setDisabled(admin.id, admin.token, true);
    assert.equal(self.status, 409, self.text);
    assert.equal((await setDisabled(other.id, admin.token, false)).status, 200);
    const stepAway = await setDisabled(admin.id, admin.token, true);
    assert.equal(stepAway.status, 200, stepAway.text);
    assert.equal((await api.get('/admin/users', { token: admin.token })).status, 401);
    const back = await logIn(api, other.email);
    assert.equal((await setDisabled(admin.id, back.token, false)).status, 200);
  });
});
