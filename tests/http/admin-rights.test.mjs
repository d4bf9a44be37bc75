// Admin rights come from the caller's stored record on every request, not from the access
// token: a demoted, deleted or signed-out admin keeps no admin power for the rest of the
// token's life, and the last admin cannot demote or delete themselves (409 last_admin).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';
import { startWorker } from '../harness/worker.mjs';

const api = client(BASE);
const shared = { persistDir: process.env.TOLLGATE_PERSIST_DIR };

/** A new admin on `server` (promoted in KV, as `tollgate user add --role admin` would). */
async function newAdmin(http, server, tag) {
  const user = await signUp(http, { tag });
  promoteToAdmin(server, user.id);
  return { ...(await logIn(http, user.email)), id: user.id, email: user.email };
}

/** Every admin route, called with `token`; the statuses, by route. */
async function adminStatuses(http, token, self, target) {
  return {
    list: (await http.get('/admin/users', { token })).status,
    promoteSelf: (await http.put(`/admin/users/${self}/role`, { token, json: { role: 'admin' } })).status,
    promoteOther: (await http.put(`/admin/users/${target}/role`, { token, json: { role: 'admin' } })).status,
    endSessions: (await http.del(`/admin/users/${target}/sessions`, { token })).status,
    enable: (await http.put(`/admin/users/${target}/disabled`, { token, json: { disabled: false } })).status,
    delete: (await http.del(`/admin/users/${target}`, { token })).status,
  };
}

/** Asserts every route refused (401 or 403, never a success). */
function assertAllRefused(statuses, why) {
  for (const [route, status] of Object.entries(statuses)) {
    assert.ok(status === 401 || status === 403, `${why}: ${route} answered ${status}`);
  }
}

describe('admin rights come from the stored record', () => {
  test('a demoted admin\'s unexpired token is refused on every admin route; the other admin still works', async () => {
    const a = await newAdmin(api, shared, 'admin-a');
    const b = await newAdmin(api, shared, 'admin-b');
    const fresh = await signUp(api);
    assert.equal((await api.get('/admin/users', { token: a.token })).status, 200, 'A is an admin to begin with');
    const demoted = await api.put(`/admin/users/${a.id}/role`, { token: b.token, json: { role: 'user' } });
    assert.equal(demoted.status, 200, demoted.text);
    assertAllRefused(await adminStatuses(api, a.token, a.id, fresh.id), 'after demotion');
    // A's fresh token carries role user and no admin scope.
    const again = await logIn(api, a.email);
    assertAllRefused(await adminStatuses(api, again.token, a.id, fresh.id), 'a fresh token after demotion');
    const me = await api.get('/me', { token: fresh.token });
    assert.equal(me.json.role, 'user', 'the new account was not promoted');
    assert.equal((await api.get('/admin/users', { token: b.token })).status, 200);
  });

  test('an admin whose sessions another admin ended keeps no admin rights', async () => {
    const a = await newAdmin(api, shared, 'admin-a');
    const b = await newAdmin(api, shared, 'admin-b');
    const fresh = await signUp(api);
    // Token times are whole seconds and a token from the very second of the ending still
    // passes (README "Storage"): wait into the next second so A's token is strictly older.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await api.del(`/admin/users/${a.id}/sessions`, { token: b.token })).status, 204);
    const statuses = await adminStatuses(api, a.token, a.id, fresh.id);
    assert.deepEqual(Object.values(statuses), [401, 401, 401, 401, 401, 401], JSON.stringify(statuses));
    assert.equal((await api.get('/admin/users', { token: b.token })).status, 200);
  });

  test('a deleted admin keeps no admin rights', async () => {
    const a = await newAdmin(api, shared, 'admin-a');
    const b = await newAdmin(api, shared, 'admin-b');
    const fresh = await signUp(api);
    assert.equal((await api.del(`/admin/users/${a.id}`, { token: b.token })).status, 204);
    const statuses = await adminStatuses(api, a.token, a.id, fresh.id);
    assert.deepEqual(Object.values(statuses), [401, 401, 401, 401, 401, 401], JSON.stringify(statuses));
    assert.equal((await api.get(`/me`, { token: fresh.token })).json.role, 'user');
    assert.equal((await api.get('/admin/users', { token: b.token })).status, 200);
  });
});

describe('the last admin', () => {
  // Its own server: the shared one has admins from other tests.
  let server;
  let http;
  before(async () => {
    server = await startWorker({});
    http = client(server.url);
  });
  after(() => server?.dispose());

  test('cannot demote or delete themselves (409 last_admin, nothing changed); with a second admin they can', async () => {
    const a = await newAdmin(http, server, 'only-admin');
    const demote = await http.put(`/admin/users/${a.id}/role`, { token: a.token, json: { role: 'user' } });
    assert.equal(demote.status, 409, demote.text);
    assert.equal(demote.json.code, 'last_admin');
    const del = await http.del(`/admin/users/${a.id}`, { token: a.token });
    assert.equal(del.status, 409, del.text);
    assert.equal(del.json.code, 'last_admin');
    const me = await http.get('/me', { token: a.token });
    assert.equal(me.status, 200, 'A\'s session was not ended by the refused change');
    assert.equal(me.json.role, 'admin');

    const b = await newAdmin(http, server, 'second-admin');
    const stepDown = await http.put(`/admin/users/${a.id}/role`, { token: a.token, json: { role: 'user' } });
    assert.equal(stepDown.status, 200, stepDown.text);
    const last = await http.del(`/admin/users/${b.id}`, { token: b.token });
    assert.equal(last.status, 409);
    assert.equal(last.json.code, 'last_admin');
  });
});
