// JWT_SECRET is the HMAC key exactly as given (its UTF-8 bytes, as PyJWT and python-jose use
// a string secret), so a service sharing it verifies Tollgate's tokens and Tollgate verifies
// its. Node's own HMAC-SHA-256 plays the other service here, with a secret that has outer
// whitespace and a non-ASCII character: trimming or re-encoding it anywhere breaks both ways.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { after, before, test } from 'node:test';
import { client, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

const SECRET = ` ${randomBytes(32).toString('base64url')}é `;
let server;
let api;
before(async () => {
  server = await startWorker({ secrets: { JWT_SECRET: SECRET } });
  api = client(server.url);
});
after(async () => { await server?.dispose(); });

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 JWS signed as `jwt.encode(claims, secret, algorithm="HS256", headers=...)` would. */
function sign(header, claims, secret = SECRET) {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The claims of `token` if its HS256 signature verifies under `secret`, else null. */
function verify(token, secret = SECRET) {
  const [h, p, sig] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  if (header.alg !== 'HS256') return null;
  const want = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const got = Buffer.from(sig, 'base64url');
  return got.length === want.length && timingSafeEqual(got, want) ? JSON.parse(Buffer.from(p, 'base64url')) : null;
}

/** The claims Tollgate requires of an access token (README "HTTP API"). */
function claimsFor(userId, now = Math.floor(Date.now() / 1000)) {
  return {
    iss: 'tollgate', aud: 'tollgate', sub: userId, iat: now, nbf: now, exp: now + 300,
    jti: randomBytes(16).toString('base64url'), sid: randomUUID(), role: 'user', scope: 'profile sessions',
  };
}

test('a token Tollgate issued verifies with the shared secret exactly as given', async () => {
  const user = await signUp(api);
  const claims = verify(user.token);
  assert.ok(claims, 'the signature verifies under the untrimmed secret');
  assert.equal(claims.sub, user.id);
  assert.equal(claims.iss, 'tollgate');
  assert.equal(claims.aud, 'tollgate');
  assert.equal(verify(user.token, SECRET.trim()), null, 'and not under the trimmed one');
});

test('a token minted with the shared secret is accepted by /auth/claims and /me', async () => {
  const user = await signUp(api);
  const claims = claimsFor(user.id);
  // PyJWT puts no kid in the header; the RFC 9068 type is what Tollgate requires.
  const token = sign({ alg: 'HS256', typ: 'at+jwt' }, claims);
  const seen = await api.get('/auth/claims', { token });
  assert.equal(seen.status, 200, seen.text);
  assert.equal(seen.json.sub, user.id);
  assert.equal(seen.json.sid, claims.sid);
  assert.deepEqual(seen.json.scopes, ['profile', 'sessions']);
  const me = await api.get('/me', { token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.email, user.email);

  for (const [label, forged] of [
    ['the trimmed secret', sign({ alg: 'HS256', typ: 'at+jwt' }, claims, SECRET.trim())],
    ['the secret in another encoding', sign({ alg: 'HS256', typ: 'at+jwt' }, claims, Buffer.from(SECRET, 'latin1'))],
    ['no typ', sign({ alg: 'HS256' }, claims)],
  ]) {
    const res = await api.get('/auth/claims', { token: forged });
    assert.equal(res.status, 401, label);
    assert.equal(res.json.code, 'invalid_token', label);
  }
});
