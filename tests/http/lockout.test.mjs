// Login throttling under real workerd, with a short window set through --var.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, client, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

const WINDOW_S = 4;
let server;
let api;
before(async () => {
  server = await startWorker({ vars: { LOGIN_WINDOW_SECONDS: String(WINDOW_S), LOGIN_MAX_FAILURES_PER_ADDRESS: '8' } });
  api = client(server.url);
});
after(async () => { await server?.dispose(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const login = (username, password, ip) => api.post('/auth/login', { form: { username, password }, headers: { 'CF-Connecting-IP': ip } });

test('five failures lock the account: 429 with Retry-After even for the right password, until the window passes', async () => {
  const user = await signUp(api);
  for (let i = 0; i < 5; i++) {
    const res = await login(user.email, 'wrong password!', `192.0.2.${10 + i}`); // spread over addresses
    assert.equal(res.status, 401, `attempt ${i + 1}`);
  }
  const locked = await login(user.email, PASSWORD, '192.0.2.99');
  assert.equal(locked.status, 429);
  assert.equal(locked.json.code, 'too_many_attempts');
  const retryAfter = Number(locked.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_S, `Retry-After ${retryAfter}`);
  await server.waitForLog(/"event":"login_throttled".*"scope":"account"/);
  await sleep((retryAfter + 1) * 1000);
  const unlocked = await login(user.email, PASSWORD, '192.0.2.99');
  assert.equal(unlocked.status, 200, unlocked.text);
});

test('wrong current passwords lock password changes like logins', async () => {
  const user = await signUp(api);
  const change = (current) => api.post('/auth/password', { token: user.token, json: { current_password: current, new_password: 'a brand new passphrase' } });
  for (let i = 0; i < 5; i++) assert.equal((await change('wrong password!')).status, 403);
  const locked = await change(PASSWORD);
  assert.equal(locked.status, 429);
  assert.equal(locked.json.code, 'too_many_attempts');
  assert.ok(Number(locked.headers.get('retry-after')) >= 1);
});

test('an unknown email locks exactly like a real one', async () => {
  const ghost = `ghost-${Date.now()}@example.com`;
  for (let i = 0; i < 5; i++) assert.equal((await login(ghost, PASSWORD, `192.0.2.${40 + i}`)).status, 401);
  const res = await login(ghost, PASSWORD, '192.0.2.98');
  assert.equal(res.status, 429);
});

test('failures from one address across accounts lock that address only', async () => {
  const user = await signUp(api);
  for (let i = 0; i < 8; i++) await login(`nobody${i}-${Date.now()}@example.com`, 'wrong password!', '203.0.113.50');
  const blocked = await login(user.email, PASSWORD, '203.0.113.50');
  assert.equal(blocked.status, 429);
  await server.waitForLog(/"event":"login_throttled".*"scope":"address"/);
  assert.equal((await login(user.email, PASSWORD, '203.0.113.51')).status, 200);
});

test('requests without CF-Connecting-IP share one address bucket, and values that are not an address share another', async () => {
  const user = await signUp(api);
  const from = (username, password, headers = {}) => api.post('/auth/login', { form: { username, password }, headers });
  // Without the header (a local client; wrangler dev fills in the connection's address,
  // 127.0.0.1) every request is the same client.
  for (let i = 0; i < 8; i++) assert.equal((await from(`nobody${i}-${Date.now()}@example.com`, 'wrong password!')).status, 401);
  assert.equal((await from(user.email, PASSWORD)).status, 429);
  // Values that are not an IP address (a service binding sends none; only a caller inside
  // Cloudflare could send a made-up one) all count as one unknown client: a new made-up value
  // does not open a fresh bucket.
  for (let i = 0; i < 8; i++) assert.equal((await from(`nobody${i}-${Date.now()}@example.com`, 'wrong password!', { 'CF-Connecting-IP': `made-up-${i}` })).status, 401);
  assert.equal((await from(user.email, PASSWORD, { 'CF-Connecting-IP': 'yet-another-made-up-value' })).status, 429);
  assert.equal((await from(user.email, PASSWORD, { 'CF-Connecting-IP': '192.0.2.200' })).status, 200, 'a real address is its own client');
  await sleep((WINDOW_S + 1) * 1000);
  assert.equal((await from(user.email, PASSWORD)).status, 200, 'unlocked after the window');
});
