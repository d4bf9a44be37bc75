// The refresh cookie's Max-Age is the session's remaining absolute lifetime at every refresh,
// not only at login, and the session ends at that lifetime even though Workers KV keeps the
// record longer (KV refuses expirations under 60 s, so a family's record is kept at least
// that long; the core refuses it at its own end). A server with an 8 s lifetime shows both.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { client, signUp } from '../harness/api.mjs';
import { kvGetJson } from '../harness/kv.mjs';
import { startWorker } from '../harness/worker.mjs';

const LIFETIME_S = 8;
let server;
let api;
before(async () => {
  server = await startWorker({ vars: { REFRESH_TOKEN_TTL_SECONDS: String(LIFETIME_S) } });
  api = client(server.url);
});
after(async () => { await server?.dispose(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const maxAge = (res) => Number(res.cookie.attrs.find((a) => a.startsWith('Max-Age=')).slice('Max-Age='.length));

test('each refreshed cookie\'s Max-Age is what is left of the session, which then ends', async () => {
  const started = Date.now();
  const user = await signUp(api);
  const first = maxAge(user.login);
  assert.ok(first >= LIFETIME_S - 1 && first <= LIFETIME_S, `login Max-Age ${first}`);

  await sleep(3000);
  const refreshed = await api.post('/auth/refresh', { cookie: user.cookie });
  assert.equal(refreshed.status, 200, refreshed.text);
  const elapsed = (Date.now() - started) / 1000;
  const second = maxAge(refreshed);
  // Whole seconds on the server's clock: allow one either way.
  assert.ok(second <= first - 2, `Max-Age ${first} at login, ${second} after ${elapsed.toFixed(1)} s`);
  assert.ok(second >= LIFETIME_S - Math.ceil(elapsed) - 1, `Max-Age ${second} after ${elapsed.toFixed(1)} s`);

  await sleep(Math.max(0, started + (LIFETIME_S + 1.5) * 1000 - Date.now()));
  // KV still holds the record (its expiration is at least 60 s after the last write)...
  const sid = JSON.parse(Buffer.from(refreshed.json.access_token.split('.')[1], 'base64url')).sid;
  const family = kvGetJson(server, 'TOKENS', `family:${user.id}:${sid}`);
  assert.ok(family, 'the family record is still in KV after the session\'s lifetime');
  assert.equal(family.expires_at - family.created_at, LIFETIME_S);
  assert.ok(family.expires_at * 1000 < Date.now(), 'and says the session is over');
  // ...so the refusal comes from the session's own end, not from KV forgetting it.
  const late = await api.post('/auth/refresh', { cookie: refreshed.cookie.pair });
  assert.equal(late.status, 401, 'the session ended at its absolute lifetime');
  assert.equal(late.json.code, 'invalid_refresh_token');
  assert.ok(late.cookie.attrs.includes('Max-Age=0'), 'and the dead cookie is cleared');
});
