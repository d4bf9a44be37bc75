// Security events: one structured JSON line per event on the Worker's log, with time, address
// and ids, and never a password, a hash, a full token or a secret.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, client, email, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { startWorker } from '../harness/worker.mjs';

let server;
let api;
before(async () => {
  server = await startWorker({ vars: { LOGIN_WINDOW_SECONDS: '60', REGISTER_MAX_PER_ADDRESS: '2' } });
  api = client(server.url);
});
after(async () => { await server?.dispose(); });

/** Every JSON event line of the server's log so far. */
function events() {
  return server.log.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((l) => l.startsWith('{') && l.includes('"event"')).map((l) => JSON.parse(l.slice(0, l.lastIndexOf('}') + 1)));
}

test('every security-relevant action is logged once, as JSON with time and address', async () => {
  const secrets = [PASSWORD, 'wrong password!', 'a brand new passphrase', server.secrets.JWT_SECRET];
  const ip = { 'CF-Connecting-IP': '203.0.113.5' };
  const user = await signUp(api, { headers: ip });
  const boss = await signUp(api, { tag: 'boss' });
  promoteToAdmin(server, boss.id);
  const admin = await logIn(api, boss.email);
  secrets.push(user.token, user.refresh, admin.token, admin.refresh);

  await api.post('/auth/login', { form: { username: user.email, password: 'wrong password!' }, headers: ip });
  const r1 = await api.post('/auth/refresh', { cookie: user.cookie });
  const r2 = await api.post('/auth/refresh', { cookie: r1.cookie.pair });
  secrets.push(r1.cookie.value, r2.cookie.value, r1.json.access_token, r2.json.access_token);
  await api.post('/auth/refresh', { cookie: user.cookie }); // two generations old: reuse
  await api.get('/me', { token: 'a.b.c' }); // rejected token
  await api.get('/admin/users', { token: r2.json.access_token }); // 403
  const second = await logIn(api, user.email);
  secrets.push(second.token, second.refresh);
  await api.post('/auth/password', { token: second.token, json: { current_password: PASSWORD, new_password: 'a brand new passphrase' } });
  await api.post('/auth/logout', { cookie: second.cookie });
  await api.post('/auth/logout-all', { token: admin.token });
  const victim = await signUp(api, { tag: 'victim' });
  secrets.push(victim.token, victim.refresh);
  const admin2 = await logIn(api, boss.email);
  await api.put(`/admin/users/${victim.id}/role`, { token: admin2.token, json: { role: 'admin' } });
  await api.del(`/admin/users/${victim.id}/sessions`, { token: admin2.token });
  await api.del(`/admin/users/${victim.id}`, { token: admin2.token });
  for (let i = 0; i < 6; i++) await api.post('/auth/login', { form: { username: 'locked@example.com', password: 'wrong password!' } });
  await server.waitForLog(/"event":"login_throttled"/);
  const crowd = { 'CF-Connecting-IP': '198.51.100.7' };
  for (let i = 0; i < 3; i++) await api.post('/auth/register', { json: { email: email('crowd'), password: PASSWORD }, headers: crowd });
  await server.waitForLog(/"event":"registration_throttled"/);

  const seen = events();
  const kinds = new Set(seen.map((e) => e.event));
  for (const kind of ['user_registered', 'login_succeeded', 'login_failed', 'token_refreshed', 'refresh_token_reused',
    'token_rejected', 'access_denied', 'password_changed', 'logged_out', 'logged_out_all', 'role_changed',
    'user_sessions_ended', 'user_deleted', 'login_throttled', 'registration_throttled']) {
    assert.ok(kinds.has(kind), `no ${kind} event in ${[...kinds].join(', ')}`);
  }
  for (const e of seen) {
    assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'UTC timestamps');
    assert.equal(typeof e.ip, 'string');
    assert.ok(['info', 'warn'].includes(e.level));
  }
  assert.ok(seen.some((e) => e.event === 'login_succeeded' && e.ip === '203.0.113.5' && e.user_id === user.id));
  const denied = seen.find((e) => e.event === 'access_denied');
  assert.equal(denied.user_id, user.id);
  assert.equal(denied.required, 'role admin');
  assert.equal(seen.find((e) => e.event === 'refresh_token_reused').level, 'warn');
  const throttled = seen.filter((e) => e.event === 'registration_throttled');
  assert.equal(throttled.length, 1, 'the third registration from one address, and only it');
  assert.equal(throttled[0].ip, '198.51.100.7');
  assert.equal(throttled[0].level, 'warn');
  assert.ok(throttled[0].retry_after_s >= 1 && throttled[0].retry_after_s <= 3600);

  for (const secret of secrets) assert.ok(!server.log.includes(secret), `a secret or token reached the log: ${secret.slice(0, 12)}…`);
  assert.ok(!server.log.includes('$argon2'), 'no password hash in the log');
  assert.ok(!/"(password|token|access_token|refresh_token|password_hash)"\s*:/.test(server.log), 'no credential fields in any line');
});
