// examples/fastapi-resource-server end to end: the FastAPI app under uvicorn (from the venv
// scripts/setup.sh makes) beside a real Tollgate under `wrangler dev`.
// - `eddsa`: Tollgate signs with EdDSA and no JWT_SECRET; the app holds no secret and fetches
//   Tollgate's /.well-known/jwks.json with PyJWT's PyJWKClient. Most tests run here.
// - `hs256`: a second Tollgate signs with HS256, and the app shares its JWT_SECRET.
// Tokens come from Tollgate's real login, or are signed here with Tollgate's own Ed25519 key
// (this test made it) to reach every rule; for those, Tollgate's own verdict
// (/auth/claims, which verifies and reads nothing) is asked too, and the app must agree.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { after, before, test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { startFastApi, startFastApiExpectingFailure } from '../harness/fastapi.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { freePort, startWorker } from '../harness/worker.mjs';

// A secret with outer whitespace and a non-ASCII letter: it must reach PyJWT exactly as given.
const HS256_SECRET = ` ${randomBytes(32).toString('base64url')}é `;
const tollgateKey = generateKeyPairSync('ed25519').privateKey;
const eddsa = { tollgate: null, app: null, api: null, jwks: '', kid: '' };
const hs256 = { tollgate: null, app: null, api: null };

before(async () => {
  // The two Tollgates start one after the other: on two cores, side by side is slower.
  eddsa.tollgate = await startWorker({
    secrets: {
      JWT_SECRET: undefined,
      JWT_PRIVATE_KEY: tollgateKey.export({ type: 'pkcs8', format: 'pem' }),
      REFRESH_SECRET: randomBytes(32).toString('base64url'),
    },
  });
  eddsa.api = client(eddsa.tollgate.url);
  eddsa.jwks = (await eddsa.api.get('/.well-known/jwks.json')).text;
  eddsa.kid = JSON.parse(eddsa.jwks).keys[0].kid;
  eddsa.app = await startFastApi({ JWKS_URL: `${eddsa.tollgate.url}/.well-known/jwks.json` });
  hs256.tollgate = await startWorker({ secrets: { JWT_SECRET: HS256_SECRET } });
  hs256.api = client(hs256.tollgate.url);
  hs256.app = await startFastApi({ JWT_SECRET: HS256_SECRET });
});
after(async () => {
  for (const s of [eddsa.app, hs256.app, eddsa.tollgate, hs256.tollgate]) await s?.dispose();
});

/** The app's client; its responses are not Tollgate's, so they stay out of the OpenAPI check. */
const app = (mode) => client(mode.app.url, { record: false });

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Claims as Tollgate issues them, for a new user and session, changed by `change`. */
function claims(change = {}) {
  const t = now();
  return {
    iss: 'tollgate', aud: 'tollgate', sub: randomUUID(), iat: t, nbf: t, exp: t + 300,
    jti: randomBytes(16).toString('base64url'), sid: randomUUID(), role: 'user', scope: 'profile sessions', ...change,
  };
}

/** A compact JWS of `header` and `payload` (objects, or raw JSON text), signed as its alg says. */
function jws(header, payload, key = tollgateKey) {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = header.alg === 'EdDSA' ? sign(null, Buffer.from(input), key)
    : header.alg === 'HS256' ? createHmac('sha256', key).update(input).digest() : Buffer.alloc(0);
  return `${input}.${signature.toString('base64url')}`;
}

/** A token as Tollgate's EdDSA key signs it, with header and claims changed as asked. */
const eddsaToken = ({ header = {}, ...change } = {}) => jws({ alg: 'EdDSA', typ: 'at+jwt', kid: eddsa.kid, ...header }, claims(change));

function assertInvalidToken(res) {
  assert.equal(res.status, 401, res.text);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
  assert.deepEqual(res.json, { detail: 'Could not validate credentials' });
}

/** An admin of the EdDSA Tollgate, made once (promoting through `wrangler kv` takes seconds). */
let adminSession;
async function admin() {
  adminSession ??= (async () => {
    const user = await signUp(eddsa.api);
    promoteToAdmin(eddsa.tollgate, user.id);
    return { ...user, token: (await logIn(eddsa.api, user.email)).token }; // a fresh token carries the role
  })();
  return adminSession;
}

test('a token from Tollgate\'s login opens the app\'s routes; a missing scope is 403 with a detail', async () => {
  const user = await signUp(eddsa.api);
  const me = await app(eddsa).get('/me', { token: user.token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.id, user.id);
  assert.equal(me.json.role, 'user');
  assert.deepEqual(me.json.scopes, ['profile', 'sessions']);
  const notes = await app(eddsa).get('/notes', { token: user.token });
  assert.equal(notes.status, 200, notes.text);
  assert.deepEqual(notes.json, { notes_of: user.id });

  const denied = await app(eddsa).get('/admin/users', { token: user.token });
  assert.equal(denied.status, 403, denied.text);
  assert.deepEqual(denied.json, { detail: 'Not enough permissions' });
  assert.equal(denied.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="users:read"');

  const { id, token } = await admin();
  const users = await app(eddsa).get('/admin/users', { token });
  assert.equal(users.status, 200, users.text);
  assert.deepEqual(users.json, { requested_by: id });
});

test('no token is 401 with WWW-Authenticate: Bearer and a detail; open routes need none', async () => {
  const none = await app(eddsa).get('/notes');
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  assert.deepEqual(none.json, { detail: 'Not authenticated' });
  assertInvalidToken(await app(eddsa).get('/notes', { token: 'garbage' }));
  assert.deepEqual((await app(eddsa).get('/public')).json, { hello: 'anyone' });
});

// Each row: a token, and whether Tollgate accepts it. The app must give the same verdict,
// except where `app` says otherwise (and why).
const stranger = generateKeyPairSync('ed25519').privateKey;
const VERDICTS = [
  ['a valid token', () => eddsaToken(), true],
  ['an expired one (60 s ago)', () => eddsaToken({ exp: now() - 60 }), false],
  ['one expired 10 s ago, inside the 30 s leeway', () => eddsaToken({ exp: now() - 10 }), true],
  ['one not valid before 2 minutes from now (nbf)', () => eddsaToken({ nbf: now() + 120 }), false],
  ['one issued 2 minutes in the future (iat)', () => eddsaToken({ iat: now() + 120 }), false],
  ['one from another issuer', () => eddsaToken({ iss: 'someone-else' }), false],
  ['one for another audience', () => eddsaToken({ aud: 'another-api' }), false],
  ['one whose aud is a one-element array', () => eddsaToken({ aud: ['tollgate'] }), true],
  ['one whose aud lists another audience too', () => eddsaToken({ aud: ['tollgate', 'another-api'] }), false],
  ['one of typ JWT (not an access token)', () => eddsaToken({ header: { typ: 'JWT' } }), false],
  ['one without typ', () => eddsaToken({ header: { typ: undefined } }), false],
  ['one of typ application/at+jwt', () => eddsaToken({ header: { typ: 'application/at+jwt' } }), true],
  ['one of typ AT+JWT (media types ignore case)', () => eddsaToken({ header: { typ: 'AT+JWT' } }), true],
  ['an HS256 token when EdDSA is expected, keyed with the public key', () => {
    const publicKey = Buffer.from(JSON.parse(eddsa.jwks).keys[0].x, 'base64url');
    return jws({ alg: 'HS256', typ: 'at+jwt', kid: eddsa.kid }, claims(), publicKey);
  }, false],
  ['an HS256 token when EdDSA is expected, keyed with a secret', () => jws({ alg: 'HS256', typ: 'at+jwt', kid: eddsa.kid }, claims(), randomBytes(32)), false],
  ['an unsigned token (alg none)', () => jws({ alg: 'none', typ: 'at+jwt', kid: eddsa.kid }, claims()), false],
  ['one signed by another key under Tollgate\'s kid', () => jws({ alg: 'EdDSA', typ: 'at+jwt', kid: eddsa.kid }, claims(), stranger), false],
  ['one naming an unknown kid', () => jws({ alg: 'EdDSA', typ: 'at+jwt', kid: `k-${randomUUID()}` }, claims(), stranger), false],
  ['one with a jku header (a key URL of its own)', () => eddsaToken({ header: { jku: 'https://attacker.example/jwks.json' } }), false],
  ['one with a crit header', () => eddsaToken({ header: { crit: ['exp'] } }), false],
  ['one without a sid', () => eddsaToken({ sid: undefined }), false],
  ['one whose exp is a string', () => eddsaToken({ exp: String(now() + 300) }), false],
  ['one whose exp is not an integer', () => eddsaToken({ exp: now() + 300.5 }), false],
  ['one that repeats a claim', () => {
    const body = JSON.stringify(claims({ sub: 'first' })).replace(/}$/, ',"sub":"second"}');
    return jws({ alg: 'EdDSA', typ: 'at+jwt', kid: eddsa.kid }, body);
  }, false],
  // Tollgate itself tries its current key on a token without a kid; a verify-only party (the
  // app, like tollgate_worker's guard with public keys) picks keys by kid or not at all.
  ['one without a kid', () => eddsaToken({ header: { kid: undefined } }), true, { app: false }],
];

for (const [name, make, tollgateAccepts, { app: appAccepts = tollgateAccepts } = {}] of VERDICTS) {
  test(`verdicts: ${name}: Tollgate ${tollgateAccepts ? 'accepts' : 'refuses'}, the app ${appAccepts ? 'accepts' : 'refuses'}`, async () => {
    const token = make();
    const tollgate = await eddsa.api.get('/auth/claims', { token });
    assert.equal(tollgate.status, tollgateAccepts ? 200 : 401, tollgate.text);
    const res = await app(eddsa).get('/me', { token });
    if (appAccepts) assert.equal(res.status, 200, res.text);
    else assertInvalidToken(res);
  });
}

test('a revoked user\'s token still opens the app until it expires, while Tollgate refuses it at once', async () => {
  // Documented (examples/fastapi-resource-server/README.md): the app checks signatures and
  // never asks Tollgate about the user, so deleting a user or ending their sessions takes
  // effect here only when the access token expires (ACCESS_TOKEN_TTL_SECONDS).
  const signedOut = await signUp(eddsa.api);
  const deleted = await signUp(eddsa.api);
  assert.equal((await eddsa.api.del(`/admin/users/${deleted.id}`, { token: (await admin()).token })).status, 204);
  // logout-all stamps the record with the second it ran, and refuses tokens issued before that
  // second: one issued within the same second still passes it.
  const issuedAt = JSON.parse(Buffer.from(signedOut.token.split('.')[1], 'base64url')).iat;
  await new Promise((r) => setTimeout(r, Math.max(0, (issuedAt + 1) * 1000 - Date.now())));
  assert.equal((await eddsa.api.post('/auth/logout-all', { token: signedOut.token })).status, 204);
  for (const user of [deleted, signedOut]) {
    assert.equal((await eddsa.api.get('/me', { token: user.token })).status, 401, 'Tollgate reads the record and refuses');
    const res = await app(eddsa).get('/notes', { token: user.token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { notes_of: user.id });
  }
});

test('with the shared HS256 secret, exactly as given: Tollgate\'s tokens open the app; EdDSA or other keys\' do not', async () => {
  const user = await signUp(hs256.api);
  assert.equal(JSON.parse(Buffer.from(user.token.split('.')[0], 'base64url')).alg, 'HS256');
  const notes = await app(hs256).get('/notes', { token: user.token });
  assert.equal(notes.status, 200, notes.text);
  assert.deepEqual(notes.json, { notes_of: user.id });
  assertInvalidToken(await app(hs256).get('/notes', { token: (await signUp(eddsa.api)).token }));
  const hs = (secret, change) => jws({ alg: 'HS256', typ: 'at+jwt' }, claims(change), secret);
  // PyJWT's own shape (no kid) with the untrimmed secret passes; the trimmed one does not.
  assert.equal((await app(hs256).get('/notes', { token: hs(HS256_SECRET) })).status, 200);
  assertInvalidToken(await app(hs256).get('/notes', { token: hs(HS256_SECRET.trim()) }));
  assertInvalidToken(await app(hs256).get('/notes', { token: hs(HS256_SECRET, { exp: now() - 60 }) }));
  assertInvalidToken(await app(hs256).get('/notes', { token: hs(HS256_SECRET, { iss: 'someone-else' }) }));
});

test('the app refuses to start unless exactly one of JWKS_URL and JWT_SECRET is set, and JWKS_URL is https or local', () => {
  const cases = [
    [{}, /exactly one of JWKS_URL/],
    [{ JWKS_URL: `${eddsa.tollgate.url}/.well-known/jwks.json`, JWT_SECRET: HS256_SECRET }, /exactly one of JWKS_URL/],
    [{ JWKS_URL: 'http://tollgate.example/.well-known/jwks.json' }, /JWKS_URL must be https/],
  ];
  for (const [env, message] of cases) {
    const { status, output } = startFastApiExpectingFailure(env);
    assert.notEqual(status, 0, output);
    assert.match(output, message);
  }
});

test('when Tollgate\'s keys cannot be fetched, a token gets 503 with Retry-After, not a 401', async () => {
  const closed = await freePort(); // nothing listens there
  const orphan = await startFastApi({ JWKS_URL: `http://127.0.0.1:${closed}/.well-known/jwks.json` });
  try {
    const res = await client(orphan.url, { record: false }).get('/notes', { token: eddsaToken() });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(typeof res.json.detail, 'string');
  } finally {
    await orphan.dispose();
  }
});
