// Changing an account's address against real `wrangler dev`, with the verifying webhook
// receiver: the token goes to the new address, a notice to the old one, and uniqueness is
// decided again when the new address confirms.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, client, email, logIn, signUp } from '../harness/api.mjs';
import { startReceiver } from '../harness/webhook-receiver.mjs';
import { startWorker } from '../harness/worker.mjs';

let receiver;
let server;
let api;
before(async () => {
  receiver = await startReceiver();
  server = await startWorker({
    vars: { EMAIL_WEBHOOK_URL: receiver.url, APP_URL: 'https://app.example/complete' },
    secrets: { EMAIL_WEBHOOK_SECRET: receiver.secret },
  });
  api = client(server.url);
});
after(async () => { await server?.dispose(); await receiver?.close(); });

const change = (token, newEmail, currentPassword = PASSWORD) => api.post('/auth/email', { token, json: { new_email: newEmail, current_password: currentPassword } });

test('the new address confirms: login moves to it, it counts as verified, other sessions end, and the old one got a notice', async () => {
  const user = await signUp(api);
  const other = await logIn(api, user.email);
  const next = email('moved');
  const res = await change(user.token, next);
  assert.equal(res.status, 202, res.text);
  const message = await receiver.waitFor((m) => m.type === 'email_change' && m.to === next);
  const notice = await receiver.waitFor((m) => m.type === 'email_changed_notice' && m.to === user.email);
  assert.equal(notice.token, null);
  assert.equal(notice.user_id, user.id);
  const done = await api.post('/auth/email/confirm', { token: user.token, json: { token: message.token } });
  assert.equal(done.status, 204, done.text);
  const fresh = await logIn(api, next);
  const me = await api.get('/me', { token: fresh.token });
  assert.equal(me.json.email, next);
  assert.equal(me.json.email_verified, true);
  assert.equal((await api.post('/auth/login', { form: { username: user.email, password: PASSWORD } })).status, 401);
  // The confirming session goes on; the other one ended.
  assert.equal((await api.post('/auth/refresh', { json: { refresh_token: user.refresh } })).status, 200);
  assert.equal((await api.post('/auth/refresh', { json: { refresh_token: other.refresh } })).status, 401);
  // The token is spent, and the old address is free for a new account.
  assert.equal((await api.post('/auth/email/confirm', { json: { token: message.token } })).status, 400);
  assert.equal((await api.post('/auth/register', { json: { email: user.email, password: PASSWORD } })).status, 201);
});

test('a taken address is 409, when asked and again at confirmation', async () => {
  const user = await signUp(api);
  const taken = await signUp(api);
  const asked = await change(user.token, taken.email);
  assert.equal(asked.status, 409);
  assert.equal(asked.json.code, 'email_taken');
  const late = email('late');
  assert.equal((await change(user.token, late)).status, 202);
  const message = await receiver.waitFor((m) => m.type === 'email_change' && m.to === late);
  // Someone registers the address before the link is followed.
  assert.equal((await api.post('/auth/register', { json: { email: late, password: PASSWORD } })).status, 201);
  const res = await api.post('/auth/email/confirm', { json: { token: message.token } });
  assert.equal(res.status, 409, res.text);
  assert.equal(res.json.code, 'email_taken');
  await logIn(api, user.email);
});

test('the current password is required and throttled; bad addresses are 422; no token is 401', async () => {
  const user = await signUp(api);
  assert.equal((await api.post('/auth/email', { json: { new_email: email('x'), current_password: PASSWORD } })).status, 401);
  const bad = await change(user.token, 'not an address');
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.json.errors.map((e) => [e.field, e.code]), [['new_email', 'invalid_email']]);
  for (let i = 0; i < 5; i++) {
    const res = await change(user.token, email('y'), 'wrong password!');
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json.code, 'incorrect_password');
  }
  const locked = await change(user.token, email('y'));
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) >= 1);
});

test('bad bodies and tokens: 400, 413, 415, 422; 503 without a mailer', async () => {
  const user = await signUp(api);
  assert.equal((await api.post('/auth/email/confirm', { json: { token: 'nope' } })).status, 400);
  for (const [path, token] of [['/auth/email', user.token], ['/auth/email/confirm', undefined]]) {
    assert.equal((await api.call('POST', path, { token, body: 'x'.repeat(17 * 1024), contentType: 'application/json' })).status, 413, path);
    assert.equal((await api.call('POST', path, { token, body: '{}', contentType: 'text/plain' })).status, 415, path);
    assert.equal((await api.call('POST', path, { token, body: '{"a":', contentType: 'application/json' })).status, 422, path);
  }
  const shared = client(process.env.TOLLGATE_URL);
  const other = await signUp(shared);
  for (const [path, token] of [['/auth/email', other.token], ['/auth/email/confirm', undefined]]) {
    const res = await shared.post(path, { token, json: { token: 'x' } });
    assert.equal(res.status, 503, `${path}: ${res.text}`);
  }
});
