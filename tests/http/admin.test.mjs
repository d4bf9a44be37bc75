// Admin routes: 403 to users, 200 to admins; role changes and deletions end sessions.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PASSWORD, client, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
// The shared server's state lives in the persist dir tests/run.mjs gave it.
const server = { persistDir: process.env.TOLLGATE_PERSIST_DIR };

describe('admin', () => {
  let admin;
  before(async () => {
    const user = await signUp(api, { tag: 'admin' });
    promoteToAdmin(server, user.id);
    admin = await logIn(api, user.email); // a fresh token carries the new role
  });

  test('admin routes answer 403 forbidden to a user and 200 to an admin', async () => {
    const user = await signUp(api);
    const denied = await api.get('/admin/users', { token: user.token });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, 'forbidden');
    assert.equal((await api.put(`/admin/users/${user.id}/role`, { token: user.token, json: { role: 'admin' } })).status, 403);
    assert.equal((await api.del(`/admin/users/${user.id}`, { token: user.token })).status, 403);
    const allowed = await api.get('/admin/users', { token: admin.token });
    assert.equal(allowed.status, 200);
    assert.ok(allowed.json.users.some((u) => u.id === user.id));
    assert.ok('cursor' in allowed.json);
    for (const u of allowed.json.users) assert.deepEqual(Object.keys(u).sort(), ['created_at', 'email', 'id', 'role']);
  });

  test('pages through users with the cursor', async () => {
    const seen = new Set();
    let cursor = '';
    let pages = 0;
    do {
      const res = await api.get(`/admin/users${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin.token });
      assert.equal(res.status, 200);
      for (const u of res.json.users) { assert.ok(!seen.has(u.id), 'no user twice'); seen.add(u.id); }
      cursor = res.json.cursor;
      pages += 1;
    } while (cursor && pages < 50);
    assert.ok(seen.size >= 2);
  });

  test('changing a role ends the user\'s sessions and the next login carries it', async () => {
    const user = await signUp(api);
    const res = await api.put(`/admin/users/${user.id}/role`, { token: admin.token, json: { role: 'admin' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.role, 'admin');
    assert.deepEqual(res.json.scopes, ['profile', 'sessions', 'users:read', 'users:write']);
    assert.equal((await api.post('/auth/refresh', { cookie: user.cookie })).status, 401);
    const again = await logIn(api, user.email);
    assert.equal((await api.get('/admin/users', { token: again.token })).status, 200);
    const bad = await api.put(`/admin/users/${user.id}/role`, { token: admin.token, json: { role: 'root' } });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json.errors.map((e) => [e.field, e.code]), [['role', 'invalid_role']]);
    const missing = await api.put('/admin/users/0b5d1e0c-0000-4000-8000-000000000000/role', { token: admin.token, json: { role: 'user' } });
    assert.equal(missing.status, 404);
  });

  test('an admin can end every session of one user; a user cannot', async () => {
    const user = await signUp(api);
    const other = await logIn(api, user.email);
    const denied = await api.del(`/admin/users/${user.id}/sessions`, { token: user.token });
    assert.equal(denied.status, 403);
    assert.equal((await api.del(`/admin/users/${user.id}/sessions`, { token: admin.token })).status, 204);
    for (const s of [user, other]) assert.equal((await api.post('/auth/refresh', { cookie: s.cookie })).status, 401);
    await logIn(api, user.email); // the password still works
    const missing = await api.del('/admin/users/0b5d1e0c-0000-4000-8000-000000000000/sessions', { token: admin.token });
    assert.equal(missing.status, 404);
  });

  test('deleting a user ends their sessions; their token no longer reaches /me', async () => {
    const user = await signUp(api);
    assert.equal((await api.del(`/admin/users/${user.id}`, { token: admin.token })).status, 204);
    const me = await api.get('/me', { token: user.token });
    assert.equal(me.status, 401, 'a valid token whose user no longer exists');
    assert.equal(me.json.code, 'invalid_token');
    assert.equal((await api.post('/auth/refresh', { cookie: user.cookie })).status, 401);
    assert.equal((await api.post('/auth/login', { form: { username: user.email, password: PASSWORD } })).status, 401);
    assert.equal((await api.del(`/admin/users/${user.id}`, { token: admin.token })).status, 404);
  });
});
