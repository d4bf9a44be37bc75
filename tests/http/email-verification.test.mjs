// Email verification against real `wrangler dev`, with the verifying webhook receiver: the
// first message comes with registration, the claim and /me flip to verified, and with
// REQUIRE_VERIFIED_EMAIL an unverified login is refused after the password is checked.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, client, email, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { startReceiver } from '../harness/webhook-receiver.mjs';
import { startWorker } from '../harness/worker.mjs';

const APP_URL = 'https://app.example/complete';
let receiver;
let server;
let api;
before(async () => {
  receiver = await startReceiver();
  server = await startWorker({
    vars: { EMAIL_WEBHOOK_URL: receiver.url, APP_URL },
    secrets: { EMAIL_WEBHOOK_SECRET: receiver.secret },
  });
  api = client(server.url);
});
after(async () => { await server?.dispose(); await receiver?.close(); });

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

async function register(a = api, address = email('verify')) {
  const res = await a.post('/auth/register', { json: { email: address, password: PASSWORD }, headers: fromAnywhere() });
  assert.equal(res.status, 201, res.text);
  return { email: address, id: res.json.id };
}

test('registration sends the first verification; confirming it flips /me and the claim', async () => {
  const user = await register();
  const message = await receiver.waitFor((m) => m.to === user.email && m.type === 'email_verification');
  assert.equal(message.user_id, user.id);
  assert.equal(message.link, `${APP_URL}#token=${message.token}&type=email_verification`);
  const session = await logIn(api, user.email);
  assert.equal(claims(session.token).email_verified, false);
  assert.equal((await api.get('/me', { token: session.token })).json.email_verified, false);
  const res = await api.post('/auth/email-verification/confirm', { json: { token: message.token } });
  assert.equal(res.status, 204, res.text);
  const me = await api.get('/me', { token: session.token });
  assert.equal(me.json.email_verified, true);
  const fresh = await logIn(api, user.email);
  assert.equal(claims(fresh.token).email_verified, true);
  // Confirming again changes nothing and is no error.
  assert.equal((await api.post('/auth/email-verification/confirm', { json: { token: message.token } })).status, 204);
  await server.waitForLog(new RegExp(`"event":"email_verified",.*"user_id":"${user.id}"`));
});

test('a signed-in user asks for another verification: 202 and a message; 401 without a token', async () => {
  const user = await register();
  const session = await logIn(api, user.email);
  const before = receiver.messages.filter((m) => m.to === user.email).length;
  const res = await api.post('/auth/email-verification', { token: session.token });
  assert.equal(res.status, 202, res.text);
  await receiver.waitFor((m) => m.to === user.email && receiver.messages.filter((x) => x.to === user.email).length > before);
  assert.equal((await api.post('/auth/email-verification')).status, 401);
});

test('verification requests are throttled: 429 with Retry-After', async () => {
  const user = await register();
  const session = await logIn(api, user.email);
  for (let i = 0; i < 5; i++) assert.equal((await api.post('/auth/email-verification', { token: session.token })).status, 202);
  const refused = await api.post('/auth/email-verification', { token: session.token });
  assert.equal(refused.status, 429);
  assert.equal(refused.json.code, 'too_many_attempts');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
});

test('a bad or foreign-purpose token is 400 invalid_action_token; bad bodies 413, 415, 422', async () => {
  const user = await register();
  await api.post('/auth/password-reset', { json: { email: user.email } });
  const reset = await receiver.waitFor((m) => m.to === user.email && m.type === 'password_reset');
  for (const token of [reset.token, 'nope', '']) {
    const res = await api.post('/auth/email-verification/confirm', { json: { token } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 'invalid_action_token');
  }
  const path = '/auth/email-verification/confirm';
  assert.equal((await api.call('POST', path, { body: 'x'.repeat(17 * 1024), contentType: 'application/json' })).status, 413);
  assert.equal((await api.call('POST', path, { body: '{}', contentType: 'text/plain' })).status, 415);
  assert.equal((await api.post(path, { json: {} })).status, 422);
});

test('without EMAIL_WEBHOOK_URL the verification routes answer 503 misconfigured, and /me says unverified', async () => {
  const shared = client(process.env.TOLLGATE_URL);
  const user = await signUp(shared);
  assert.equal((await shared.get('/me', { token: user.token })).json.email_verified, false);
  // The bearer route checks the caller first (401 without a token), then the mailer.
  assert.equal((await shared.post('/auth/email-verification')).status, 401);
  for (const [path, token] of [['/auth/email-verification', user.token], ['/auth/email-verification/confirm', undefined]]) {
    const res = await shared.post(path, { token, json: { token: 'x' } });
    assert.equal(res.status, 503, `${path}: ${res.text}`);
    assert.equal(res.json.code, 'misconfigured');
  }
});

test('REQUIRE_VERIFIED_EMAIL: the right password of an unverified account is 403 email_not_verified, and a new verification is sent', async () => {
  const mail = await startReceiver();
  const strict = await startWorker({
    vars: { EMAIL_WEBHOOK_URL: mail.url, REQUIRE_VERIFIED_EMAIL: 'true' },
    secrets: { EMAIL_WEBHOOK_SECRET: mail.secret },
  });
  try {
    const strictApi = client(strict.url);
    const user = await register(strictApi);
    await mail.waitFor((m) => m.to === user.email);
    const login = (password) => strictApi.post('/auth/login', { form: { username: user.email, password } });
    assert.equal((await login('wrong password!')).status, 401);
    const refused = await login(PASSWORD);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.code, 'email_not_verified');
    // The registration's message and the fresh one.
    await mail.waitFor(() => mail.messages.filter((m) => m.to === user.email).length >= 2);
    const latest = mail.messages.filter((m) => m.to === user.email).at(-1);
    assert.equal(latest.type, 'email_verification');
    assert.equal((await strictApi.post('/auth/email-verification/confirm', { json: { token: latest.token } })).status, 204);
    const ok = await login(PASSWORD);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(claims(ok.json.access_token).email_verified, true);
  } finally {
    await strict.dispose();
    await mail.close();
  }
});
