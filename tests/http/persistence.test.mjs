// A restart of `wrangler dev` loses nothing that was acknowledged: local KV and the Durable
// Object state persist under the persist dir.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PASSWORD, client, logIn, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

let server;
after(async () => { await server?.dispose(); });

test('users, sessions, rotations, revocations and lockouts survive a restart', async () => {
  server = await startWorker({});
  let api = client(server.url);
  const user = await signUp(api);
  const rotated = await api.post('/auth/refresh', { cookie: user.cookie });
  assert.equal(rotated.status, 200);
  const second = await logIn(api, user.email);
  assert.equal((await api.post('/auth/logout', { cookie: second.cookie })).status, 204);
  const locked = await signUp(api, { tag: 'locked' });
  for (let i = 0; i < 5; i++) await api.post('/auth/login', { form: { username: locked.email, password: 'wrong password!' }, headers: { 'CF-Connecting-IP': `192.0.2.${i}` } });

  await server.restart();
  api = client(server.url);

  await logIn(api, user.email);
  assert.equal((await api.post('/auth/refresh', { cookie: rotated.cookie.pair })).status, 200, 'the rotated family kept its generation');
  assert.equal((await api.post('/auth/refresh', { cookie: user.cookie })).status, 401, 'the old generation is still old');
  assert.equal((await api.post('/auth/refresh', { cookie: second.cookie })).status, 401, 'the logout held');
  const stillLocked = await api.post('/auth/login', { form: { username: locked.email, password: PASSWORD }, headers: { 'CF-Connecting-IP': '192.0.2.77' } });
  assert.equal(stillLocked.status, 429, 'the lockout held');
});
