// Registration is throttled per client address (REGISTER_MAX_PER_ADDRESS, default 10, per
// REGISTER_WINDOW_SECONDS, default 3600), in the same Durable Object mechanism as login, and
// before any hashing: against the shared server with the defaults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, anyAddress, client, email } from '../harness/api.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const LIMIT = 10;
const register = (address, ip, password = PASSWORD) => api.post('/auth/register', { json: { email: address, password }, headers: { 'CF-Connecting-IP': ip } });

function assertThrottled(res) {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.json.code, 'too_many_attempts');
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
}

test('30 parallel registrations from one address: at most 10 are created, the rest 429 with Retry-After', async () => {
  const ip = anyAddress();
  const results = await Promise.all(Array.from({ length: 30 }, () => register(email('flood'), ip)));
  const created = results.filter((r) => r.status === 201).length;
  assert.ok(created <= LIMIT && created >= 1, `${created} created`);
  for (const r of results.filter((x) => x.status !== 201)) assertThrottled(r);
  assertThrottled(await register(email('later'), ip));
  // Another client is not affected.
  assert.equal((await register(email('other'), anyAddress())).status, 201);
});

test('answers of email_taken count too, so the throttle also bounds account enumeration', async () => {
  const ip = anyAddress();
  const taken = email('taken');
  assert.equal((await register(taken, ip)).status, 201);
  for (let i = 1; i < LIMIT; i++) assert.equal((await register(taken, ip)).status, 409, `attempt ${i + 1}`);
  assertThrottled(await register(taken, ip));
  assertThrottled(await register(email('fresh'), ip));
});

test('a request refused as invalid costs nothing and is not counted', async () => {
  const ip = anyAddress();
  for (let i = 0; i < LIMIT + 2; i++) assert.equal((await register('not-an-email', ip, 'short')).status, 422);
  assert.equal((await register(email('valid'), ip)).status, 201);
});
