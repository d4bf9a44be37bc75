// The login throttle under parallel guessing, against the shared server with the default
// limits (LOGIN_MAX_FAILURES 5, LOGIN_MAX_FAILURES_PER_ADDRESS 20, a 15-minute window).
// Admission reserves the attempt in the throttle object before the password is looked at, so
// however many guesses arrive at once, at most the limit of them reach a verdict.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, anyAddress, client, email, signUp } from '../harness/api.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const ACCOUNT_LIMIT = 5;
const ADDRESS_LIMIT = 20;
const login = (username, password, ip) => api.post('/auth/login', { form: { username, password }, headers: { 'CF-Connecting-IP': ip } });

/** The statuses of `responses`, counted: `{401: 5, 429: 25}`. */
function tally(responses) {
  const counts = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** Every response that is not `verdict` is a 429 `too_many_attempts` with a Retry-After. */
function assertRestThrottled(responses, verdict) {
  for (const r of responses.filter((x) => x.status !== verdict)) {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.code, 'too_many_attempts');
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 900, `Retry-After ${retryAfter}`);
  }
}

test('30 parallel wrong passwords against one account: at most 5 are judged, the rest 429, then the right password is 429 too', async () => {
  const user = await signUp(api);
  // Each guess from an address of its own, so that only the account's limit applies.
  const guesses = await Promise.all(Array.from({ length: 30 }, () => login(user.email, 'wrong password!', anyAddress())));
  const counts = tally(guesses);
  assert.ok((counts[401] ?? 0) <= ACCOUNT_LIMIT, `at most ${ACCOUNT_LIMIT} verdicts: ${JSON.stringify(counts)}`);
  assert.ok((counts[401] ?? 0) >= 1, `some guesses are judged: ${JSON.stringify(counts)}`);
  assertRestThrottled(guesses, 401);
  const right = await login(user.email, PASSWORD, anyAddress());
  assert.equal(right.status, 429, `the right password after the guesses: ${right.text}`);
  assert.equal(right.cookie, undefined, 'no session');
});

test('30 parallel wrong passwords from one address across accounts: at most 20 are judged, and the address is then locked', async () => {
  const ip = anyAddress();
  const user = await signUp(api);
  const guesses = await Promise.all(Array.from({ length: 30 }, () => login(email('nobody'), 'wrong password!', ip)));
  const counts = tally(guesses);
  assert.ok((counts[401] ?? 0) <= ADDRESS_LIMIT, `at most ${ADDRESS_LIMIT} verdicts: ${JSON.stringify(counts)}`);
  assert.ok((counts[401] ?? 0) >= 1, `some guesses are judged: ${JSON.stringify(counts)}`);
  assertRestThrottled(guesses, 401);
  assert.equal((await login(user.email, PASSWORD, ip)).status, 429, 'the address is locked for every account');
  assert.equal((await login(user.email, PASSWORD, anyAddress())).status, 200, 'another address is not');
});

test('30 parallel wrong current passwords: at most 5 are judged, then the right one is 429', async () => {
  const user = await signUp(api);
  const change = (current) => api.post('/auth/password', { token: user.token, json: { current_password: current, new_password: 'a brand new passphrase' } });
  const guesses = await Promise.all(Array.from({ length: 30 }, () => change('wrong password!')));
  const counts = tally(guesses);
  assert.ok((counts[403] ?? 0) <= ACCOUNT_LIMIT, `at most ${ACCOUNT_LIMIT} verdicts: ${JSON.stringify(counts)}`);
  assert.ok((counts[403] ?? 0) >= 1, `some guesses are judged: ${JSON.stringify(counts)}`);
  assertRestThrottled(guesses, 403);
  assert.equal((await change(PASSWORD)).status, 429);
});

test('IPv6 clients count by their /64: other hosts of the /64 are locked with it, the next /64 is not', async () => {
  const prefix = anyAddress().split('::')[0]; // 2001:db8:xxxx:yyyy, a /64 of its own
  const user = await signUp(api);
  for (let i = 0; i < ADDRESS_LIMIT; i++) {
    const res = await login(email('nobody'), 'wrong password!', `${prefix}:${(i + 1).toString(16)}::1`);
    assert.equal(res.status, 401, `attempt ${i + 1}`);
  }
  assert.equal((await login(user.email, PASSWORD, `${prefix}:ffff:ffff:ffff:ffff`)).status, 429, 'another host of the same /64');
  // The neighbouring /64 (the last group of the prefix plus one) is another client.
  const groups = prefix.split(':');
  groups[3] = ((parseInt(groups[3], 16) + 1) % 0x10000).toString(16);
  assert.equal((await login(user.email, PASSWORD, `${groups.join(':')}::1`)).status, 200, 'the next /64');
});
