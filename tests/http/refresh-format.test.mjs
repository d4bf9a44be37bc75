// What a refresh token is, checked from outside: 103 base64url characters, a MAC under the
// refresh key over (version 2, user id, family id, generation, the family's creation time), as
// README "Storage" and crates/core/src/refresh/token.rs describe it. Node's HMAC recomputes
// the MAC of a real token from JWT_SECRET; the same code then makes a token of the first
// format (version 1, without the creation time, 92 characters), MAC valid, which is refused.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { client, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

let server;
let api;
before(async () => {
  server = await startWorker({});
  api = client(server.url);
});
after(async () => { await server?.dispose(); });

/** The refresh-token MAC of `body`, under the key derived from `secret` (no REFRESH_SECRET). */
function mac(secret, body) {
  const key = createHmac('sha256', secret).update('tollgate/refresh-token-key/v1').digest();
  return createHmac('sha256', key).update(Buffer.concat([Buffer.from('tollgate/refresh-token/v1\0'), body])).digest();
}

test('a refresh token is version 2 with the family\'s creation time; the first format, MAC valid, is refused', async () => {
  const user = await signUp(api);
  const token = Buffer.from(user.refresh, 'base64url');
  assert.equal(user.refresh.length, 103);
  assert.equal(token[0], 2, 'version 2');
  const body = token.subarray(0, 45);
  assert.deepEqual(mac(server.secrets.JWT_SECRET, body), token.subarray(45), 'the MAC is recomputed here');

  // The same session in the first format: version 1, user, family and generation, no time.
  const v1Body = Buffer.concat([Buffer.from([1]), body.subarray(1, 37)]);
  const v1 = Buffer.concat([v1Body, mac(server.secrets.JWT_SECRET, v1Body)]).toString('base64url');
  assert.equal(v1.length, 92);
  for (const presented of [{ cookie: `__Secure-tollgate_refresh=${v1}` }, { json: { refresh_token: v1 } }]) {
    const res = await api.post('/auth/refresh', presented);
    assert.equal(res.status, 401, res.text);
    assert.equal(res.json.code, 'invalid_refresh_token');
  }
  // The session itself is untouched: its real token still refreshes.
  const fresh = await api.post('/auth/refresh', { cookie: user.cookie });
  assert.equal(fresh.status, 200, fresh.text);
});
