// Password reset against real `wrangler dev`, with a real receiver standing in for the
// operator's mailer: every message is verified with the Standard Webhooks library
// (tests/harness/webhook-receiver.mjs), and tokens are read only from what it received.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, client, email, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { startReceiver } from '../harness/webhook-receiver.mjs';
import { startWorker } from '../harness/worker.mjs';

const APP_URL = 'https://app.example/recover';
const NEW_PASSWORD = 'a brand new passphrase';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

const requestReset = (address, headers = fromAnywhere()) => api.post('/auth/password-reset', { json: { email: address }, headers });
const confirm = (token, newPassword = NEW_PASSWORD) => api.post('/auth/password-reset/confirm', { json: { token, new_password: newPassword } });

/** Asks for a reset of `address` and returns the message the mailer received for it. */
async function resetMessage(address) {
  const before = receiver.messages.length;
  const res = await requestReset(address);
  assert.equal(res.status, 202, res.text);
  assert.equal(res.text, '');
  return receiver.waitFor((m, i) => receiver.messages.indexOf(m) >= before && m.type === 'password_reset' && m.to === address);
}

test('a reset sets the new password, the old one fails, and the old sessions end', async () => {
  const user = await signUp(api);
  const message = await resetMessage(user.email);
  assert.equal(message.user_id, user.id);
  assert.match(message.token, /^[A-Za-z0-9_-]+$/);
  assert.equal(message.link, `${APP_URL}#token=${message.token}&type=password_reset`);
  const expires = Date.parse(message.expires_at);
  assert.ok(Math.abs(expires - (Date.now() + 1800_000)) < 60_000, message.expires_at);
  const res = await confirm(message.token);
  assert.equal(res.status, 204, res.text);
  await logIn(api, user.email, NEW_PASSWORD);
  const old = await api.post('/auth/login', { form: { username: user.email, password: PASSWORD } });
  assert.equal(old.status, 401);
  // The session from before the reset: its refresh token is refused.
  const refresh = await api.post('/auth/refresh', { json: { refresh_token: user.refresh } });
  assert.equal(refresh.status, 401, refresh.text);
  await server.waitForLog(new RegExp(`"event":"password_reset",.*"user_id":"${user.id}"`));
  // No token or password ever reaches the log.
  assert.ok(!server.log.includes(message.token), 'the token is in the log');
  assert.ok(!server.log.includes(NEW_PASSWORD), 'the password is in the log');
});

test('a used token is refused: 400 invalid_action_token', async () => {
  const user = await signUp(api);
  const message = await resetMessage(user.email);
  assert.equal((await confirm(message.token)).status, 204);
  const again = await confirm(message.token, 'yet another passphrase');
  assert.equal(again.status, 400, again.text);
  assert.equal(again.json.code, 'invalid_action_token');
  await logIn(api, user.email, NEW_PASSWORD);
});

test('a tampered or made-up token is refused, and nothing changes', async () => {
  const user = await signUp(api);
  const { token } = await resetMessage(user.email);
  const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
  for (const bad of [flipped, token.slice(0, -1), 'not-a-token', '']) {
    const res = await confirm(bad);
    assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
    assert.equal(res.json.code, 'invalid_action_token');
  }
  await logIn(api, user.email, PASSWORD);
});

test('the new password must meet the policy (422 for new_password), and the token survives it', async () => {
  const user = await signUp(api);
  const { token } = await resetMessage(user.email);
  const weak = await confirm(token, 'short');
  assert.equal(weak.status, 422);
  assert.deepEqual(weak.json.errors.map((e) => [e.field, e.code]), [['new_password', 'password_too_short']]);
  assert.equal((await confirm(token)).status, 204);
});

test('an unknown email gets the same 202, and nothing is sent', async () => {
  const known = await signUp(api);
  const ghost = email('ghost');
  const sent = receiver.attempts.length;
  const res = await requestReset(ghost);
  assert.equal(res.status, 202);
  assert.equal(res.text, '');
  // Something sent for a known address in the meantime proves the mailer is being reached.
  await resetMessage(known.email);
  await sleep(500);
  assert.ok(!receiver.messages.some((m) => m.to === ghost), 'a message went to an unknown address');
  assert.ok(receiver.attempts.length > sent);
});

test('an unknown email is answered in the same time as a known one (medians within a factor of 1.5)', async () => {
  // The message goes out after the response, and both make the same reads: what remains is
  // noise. Interleaved, each address asked for once, from addresses of its own.
  const ROUNDS = 7;
  const known = [];
  for (let i = 0; i <= ROUNDS; i++) known.push((await signUp(api, { tag: 'reset-timing' })).email);
  const timed = async (address) => {
    const started = process.hrtime.bigint();
    const res = await requestReset(address);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(res.status, 202, res.text);
    return ms;
  };
  await timed(email('warmup'));
  await timed(known.pop());
  const knownMs = [];
  const unknownMs = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) { knownMs.push(await timed(known[i])); unknownMs.push(await timed(email('ghost'))); }
    else { unknownMs.push(await timed(email('ghost'))); knownMs.push(await timed(known[i])); }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ratio = median(unknownMs) / median(knownMs);
  assert.ok(ratio > 0.67 && ratio < 1.5, `unknown ${unknownMs.map(Math.round)} ms vs known ${knownMs.map(Math.round)} ms: ratio ${ratio.toFixed(2)}`);
});

test('reset requests are throttled per address asked for: 429 with Retry-After', async () => {
  const user = await signUp(api);
  for (let i = 0; i < 5; i++) assert.equal((await requestReset(user.email)).status, 202, `request ${i + 1}`);
  const refused = await requestReset(user.email);
  assert.equal(refused.status, 429);
  assert.equal(refused.json.code, 'too_many_attempts');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  // Logins of the account are a throttle of their own.
  await logIn(api, user.email, PASSWORD);
  await server.waitForLog(/"event":"recovery_throttled".*"scope":"account"/);
});

test('every delivery is signed, and a request without a body field is 422', async () => {
  assert.ok(receiver.attempts.length > 0);
  for (const a of receiver.attempts) {
    assert.ok(a.verified, `attempt not verified: ${a.error}`);
    assert.equal(a.contentType, 'application/json');
  }
  const missing = await api.post('/auth/password-reset', { json: {} });
  assert.equal(missing.status, 422);
  assert.equal(missing.json.errors[0].field, 'email');
});

test('an expired token is refused (PASSWORD_RESET_TTL_SECONDS=1)', async () => {
  const mail = await startReceiver();
  const short = await startWorker({
    vars: { EMAIL_WEBHOOK_URL: mail.url, PASSWORD_RESET_TTL_SECONDS: '1' },
    secrets: { EMAIL_WEBHOOK_SECRET: mail.secret },
  });
  try {
    const shortApi = client(short.url);
    const user = await signUp(shortApi);
    assert.equal((await shortApi.post('/auth/password-reset', { json: { email: user.email } })).status, 202);
    const message = await mail.waitFor((m) => m.to === user.email && m.type === 'password_reset');
    // No APP_URL: no link.
    assert.equal(message.link, null);
    await sleep(2100);
    const res = await shortApi.post('/auth/password-reset/confirm', { json: { token: message.token, new_password: NEW_PASSWORD } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 'invalid_action_token');
    await short.waitForLog(/"event":"action_token_rejected",.*"purpose":"password_reset","reason":"expired"/);
  } finally {
    await short.dispose();
    await mail.close();
  }
});

test('a mailer that fails twice still gets the message once, every attempt signed, with one webhook-id', async () => {
  const mail = await startReceiver();
  const flaky = await startWorker({
    vars: { EMAIL_WEBHOOK_URL: mail.url },
    secrets: { EMAIL_WEBHOOK_SECRET: mail.secret },
  });
  try {
    const flakyApi = client(flaky.url);
    const user = await signUp(flakyApi);
    // Registration's own verification message first, then the mailer starts failing.
    await mail.waitFor((m) => m.to === user.email && m.type === 'email_verification');
    mail.failNext(2);
    const started = Date.now();
    const res = await flakyApi.post('/auth/password-reset', { json: { email: user.email } });
    assert.equal(res.status, 202);
    // The answer does not wait for the mailer (the retries come after it).
    assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
    const message = await mail.waitFor((m) => m.to === user.email && m.type === 'password_reset', 20_000);
    assert.equal(mail.messages.filter((m) => m.to === user.email && m.type === 'password_reset').length, 1);
    const attempts = mail.attempts.filter((a) => a.headers['webhook-id'] === message.webhookId);
    assert.deepEqual(attempts.map((a) => a.status), [503, 503, 204]);
    assert.ok(attempts.every((a) => a.verified), 'every attempt verifies');
    // Backoff: the attempts are spread out, not fired at once.
    assert.ok(attempts[2].at - attempts[0].at >= 4000, `attempts ${attempts.map((a) => a.at - attempts[0].at)}`);
    // Each failed attempt is a security event (keys are logged in alphabetical order).
    await flaky.waitForLog(/"attempt":2,"detail":"answered HTTP 503","event":"email_delivery_failed","gave_up":false/);
    assert.ok(!flaky.log.includes(message.token), 'the token is in the log');
    // The token works.
    const done = await flakyApi.post('/auth/password-reset/confirm', { json: { token: message.token, new_password: NEW_PASSWORD } });
    assert.equal(done.status, 204);
  } finally {
    await flaky.dispose();
    await mail.close();
  }
});

test('without EMAIL_WEBHOOK_URL the reset routes answer 503 misconfigured', async () => {
  const shared = client(process.env.TOLLGATE_URL);
  for (const [path, json] of [['/auth/password-reset', { email: 'a@example.com' }], ['/auth/password-reset/confirm', { token: 'x', new_password: NEW_PASSWORD }]]) {
    const res = await shared.post(path, { json });
    assert.equal(res.status, 503, `${path}: ${res.text}`);
    assert.equal(res.json.code, 'misconfigured');
  }
});

test('bad bodies get 413, 415 and 422 malformed_body on both routes', async () => {
  for (const path of ['/auth/password-reset', '/auth/password-reset/confirm']) {
    const big = await api.call('POST', path, { body: 'x'.repeat(17 * 1024), contentType: 'application/json' });
    assert.equal(big.status, 413, `${path}: ${big.text}`);
    const wrong = await api.call('POST', path, { body: '{"a":1}', contentType: 'text/plain' });
    assert.equal(wrong.status, 415, `${path}: ${wrong.text}`);
    const malformed = await api.call('POST', path, { body: '{"email": ', contentType: 'application/json' });
    assert.equal(malformed.status, 422, `${path}: ${malformed.text}`);
    assert.equal(malformed.json.code, 'malformed_body');
  }
});
