// Bad input of every kind gets a clear 4xx with a stable code: never a 5xx, never a crash.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const server = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
const BIG = 'x'.repeat(17 * 1024);

describe('every route that takes a body', () => {
  let user;
  let admin;
  before(async () => {
    user = await signUp(api);
    const a = await signUp(api, { tag: 'badinput-admin' });
    promoteToAdmin(server, a.id);
    admin = await logIn(api, a.email); // a fresh token carries the new role
  });

  const routes = () => [
    { method: 'POST', path: '/auth/register', type: 'application/json' },
    { method: 'POST', path: '/auth/login', type: 'application/x-www-form-urlencoded' },
    { method: 'POST', path: '/auth/refresh', type: 'application/json' },
    { method: 'POST', path: '/auth/logout', type: 'application/json' },
    { method: 'POST', path: '/auth/password', type: 'application/json', token: user.token },
    { method: 'PUT', path: `/admin/users/${user.id}/role`, type: 'application/json', token: admin.token },
    { method: 'PUT', path: `/admin/users/${user.id}/disabled`, type: 'application/json', token: admin.token },
  ];

  test('bodies over 16 KiB are 413 payload_too_large', async () => {
    for (const r of routes()) {
      const res = await api.call(r.method, r.path, { body: BIG, contentType: r.type, token: r.token });
      assert.equal(res.status, 413, `${r.method} ${r.path}: ${res.text}`);
      assert.equal(res.json.code, 'payload_too_large');
    }
  });

  test('the wrong content type is 415 unsupported_media_type', async () => {
    for (const r of routes()) {
      const wrong = r.type === 'application/json' ? 'text/plain' : 'application/json';
      const res = await api.call(r.method, r.path, { body: '{"a":1}', contentType: wrong, token: r.token });
      assert.equal(res.status, 415, `${r.method} ${r.path}: ${res.text}`);
      assert.equal(res.json.code, 'unsupported_media_type');
    }
  });

  test('malformed bodies are 422 malformed_body, with one errors entry for the body', async () => {
    for (const r of routes()) {
      const bodies = r.type === 'application/json' ? ['{"email": ', '[1, 2]', '\xff'] : ['username=%zz&password=%', 'a=%C3'];
      for (const body of bodies) {
        const res = await api.call(r.method, r.path, { body, contentType: r.type, token: r.token });
        assert.equal(res.status, 422, `${r.method} ${r.path} ${JSON.stringify(body)}: ${res.text}`);
        assert.equal(res.json.code, 'malformed_body');
        assert.deepEqual(res.json.errors, [{ field: 'body', code: 'malformed_body', detail: res.json.detail }], `${r.method} ${r.path}`);
      }
    }
  });

  test('hostile values never produce a 5xx', async () => {
    const values = ['', ' ', '\u0000', '\ud83d\ude00'.repeat(300), 'a@b.c'.repeat(100), '<script>', '${jndi:x}', '../../etc/passwd', null, 12, [], {}, true];
    for (const v of values) {
      for (const res of [
        await api.post('/auth/register', { json: { email: v, password: v } }),
        await api.post('/auth/login', { form: { username: typeof v === 'string' ? v : JSON.stringify(v), password: 'x' }, headers: { 'CF-Connecting-IP': '198.51.100.99' } }),
        await api.post('/auth/refresh', { json: { refresh_token: v } }),
      ]) {
        assert.ok(res.status < 500, `${JSON.stringify(v)} -> ${res.status} ${res.text}`);
        assert.equal(typeof res.json.code, 'string');
      }
    }
    for (const token of ['', 'a'.repeat(9000), 'a.b', 'a.b.c.d', 'e30.e30.', 'eyJhbGciOiJub25lIn0.e30.', '\u00e9.a.b']) {
      const res = await api.get('/me', { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401, JSON.stringify(token));
    }
  });
});
