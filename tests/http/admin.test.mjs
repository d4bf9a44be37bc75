// Admin routes: 403 to users, 200 to admins; role changes and deletions end sessions.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { PASSWORD, client, logIn, signUp } from '../harness/api.mjs';
import { kvBulkPut, promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
// The shared server's state lives in the persist dir tests/run.mjs gave it.
const server = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
// A well-formed argon2id PHC string for seeded users, who never log in.
const SEEDED_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2VlZGVkLXVzZXItc2FsdA$ZmFrZS1oYXNoLW9mLWEtc2VlZGVkLXVzZXItMzI';

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
    for (const u of allowed.json.users) assert.deepEqual(Object.keys(u).sort(), ['created_at', 'disabled', 'email', 'id', 'role']);
  });

  test('pages through more than a page of users with the cursor, each exactly once', async () => {
    // 120 users seeded straight into KV in the documented record format (README "Storage"),
    // as `tollgate user add` and `wrangler kv bulk put` would: registering them through the
    // API would cost an argon2id hash each.
    const now = Math.floor(Date.now() / 1000);
    const tag = `seed-${Date.now().toString(36)}`;
    const seeded = Array.from({ length: 120 }, (_, i) => ({ id: randomUUID(), email: `${tag}-${i}@example.com`, role: 'user', created_at: now }));
    kvBulkPut(server, 'USERS', seeded.flatMap((u) => [
      {
        key: `user:${u.id}`,
        value: JSON.stringify({ v: 1, ...u, password_hash: SEEDED_HASH, updated_at: now, session_epoch: 0 }),
        metadata: u,
      },
      { key: `email:${u.email}`, value: u.id },
    ]));

    const times = new Map();
    let cursor = null;
    const sizes = [];
    do {
      const res = await api.get(`/admin/users${cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`}`, { token: admin.token });
      assert.equal(res.status, 200, res.text);
      for (const u of res.json.users) times.set(u.id, (times.get(u.id) ?? 0) + 1);
      sizes.push(res.json.users.length);
      cursor = res.json.cursor;
    } while (cursor !== null && sizes.length < 50);
    assert.equal(cursor, null, 'the last page says there is no next one');
    assert.ok(sizes.length >= 2, `${sizes.length} pages`);
    assert.ok(sizes.slice(0, -1).every((n) => n === 100), `every page but the last is full: ${sizes}`);
    assert.deepEqual([...times].filter(([, n]) => n !== 1), [], 'no user is listed twice');
    assert.deepEqual(seeded.filter((u) => times.get(u.id) !== 1).map((u) => u.email), [], 'every seeded user is listed');
  });

  test('a cursor not shaped like a KV cursor is 422 validation_error, before it reaches KV', async () => {
    for (const cursor of ['not a cursor', '\u0000', 'a.b', '%zz', 'ü', 'A'.repeat(1025)]) {
      const res = await api.get(`/admin/users?cursor=${encodeURIComponent(cursor)}`, { token: admin.token });
      assert.equal(res.status, 422, `${JSON.stringify(cursor.slice(0, 20))}: ${res.text}`);
      assert.equal(res.json.code, 'validation_error');
      assert.deepEqual(res.json.errors.map((e) => [e.field, e.code]), [['cursor', 'invalid_value']]);
    }
    const empty = await api.get('/admin/users?cursor=', { token: admin.token });
    assert.equal(empty.status, 200, 'an empty cursor is the first page');
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
