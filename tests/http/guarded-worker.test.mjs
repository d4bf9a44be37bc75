// The library use end to end: examples/guarded-worker, another workers-rs app guarding its
// routes with `tollgate_worker::authenticate`, built with worker-build and run under its own
// `wrangler dev` beside a Tollgate that signs with EdDSA. The guards hold only public keys,
// nothing that could sign a token:
// - `remote` fetches them from Tollgate's /.well-known/jwks.json (JWKS_URL);
// - `fixed` is given them as a JWKS in the var JWT_PUBLIC_KEYS;
// - `counted` fetches them from a JWKS server this test runs, which counts the fetches: the
//   Cache API keeps them across isolates, an unknown kid refetches, at a bounded rate.
// Tokens come from Tollgate's real login, or are signed here with Node's Ed25519.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { buildWorkerCrate, startWorker, testConfigPath } from '../harness/worker.mjs';

/** The guard's refetch bound (worker/src/guard.rs, via tollgate_core::token::RemoteKeys). */
const REFETCH_COOLDOWN_MS = 10_000;
const GUARD = { config: 'examples/guarded-worker/wrangler.toml', readyPath: '/public' };

let tollgate;
let remote;
let fixed;
let counted;
let api;
let jwksText;
const jwksServer = { doc: { keys: [] }, fetches: 0, url: '', http: null };

/** An Ed25519 key pair with its JWK (public half) under `kid`. */
function keyPair(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { x } = publicKey.export({ format: 'jwk' });
  return { privateKey, kid, jwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' } };
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An access token as Tollgate would sign it, for `sub`, with `key`'s kid (or `kid`). */
function mint(key, { sub = randomUUID(), kid = key.kid, role = 'user' } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'tollgate', aud: 'tollgate', sub, iat: now, nbf: now, exp: now + 300,
    jti: randomBytes(16).toString('base64url'), sid: randomUUID(), role, scope: 'profile sessions',
  };
  const input = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid })}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

before(async () => {
  buildWorkerCrate('examples/guarded-worker');
  const { privateKey } = generateKeyPairSync('ed25519');
  // No JWT_SECRET at all: EdDSA signs, and REFRESH_SECRET keys the refresh tokens.
  tollgate = await startWorker({
    secrets: {
      JWT_SECRET: undefined,
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      REFRESH_SECRET: randomBytes(32).toString('base64url'),
    },
    // Lists single-session endings in the user record, for the session-checking guard below;
    // the guards that do not check are unaffected.
    vars: { ACCESS_TOKEN_REVOCATION: 'session' },
  });
  api = client(tollgate.url);
  jwksText = (await api.get('/.well-known/jwks.json')).text;

  jwksServer.http = createServer((req, res) => {
    jwksServer.fetches += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(jwksServer.doc));
  });
  await new Promise((ok) => jwksServer.http.listen(0, '127.0.0.1', ok));
  jwksServer.url = `http://127.0.0.1:${jwksServer.http.address().port}/jwks.json`;

  // The harness gives every server a JWT_SECRET unless told otherwise: these get none.
  const noSecret = { JWT_SECRET: undefined };
  remote = await startWorker({ ...GUARD, secrets: noSecret, vars: { JWKS_URL: `${tollgate.url}/.well-known/jwks.json` } });
  fixed = await startWorker({ ...GUARD, secrets: noSecret, vars: { JWT_PUBLIC_KEYS: jwksText } });
});
after(async () => {
  for (const s of [counted, fixed, remote, tollgate]) await s?.dispose();
  jwksServer.http?.close();
});

test('open routes need no token', async () => {
  const res = await client(remote.url).get('/public');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { hello: 'anyone' });
});

test('a Tollgate access token opens the guarded routes of both verify-only guards; the admin route needs the admin role', async () => {
  const user = await signUp(api);
  assert.equal(JSON.parse(Buffer.from(user.token.split('.')[0], 'base64url')).alg, 'EdDSA');
  for (const guard of [remote, fixed]) {
    const app = client(guard.url);
    const notes = await app.get('/notes', { token: user.token });
    assert.equal(notes.status, 200, notes.text);
    assert.deepEqual(notes.json, { notes_of: user.id });
    const denied = await app.get('/admin/stats', { token: user.token });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, 'forbidden');
  }
  promoteToAdmin(tollgate, user.id);
  const admin = await logIn(api, user.email); // a fresh token carries the new role
  for (const guard of [remote, fixed]) {
    const stats = await client(guard.url).get('/admin/stats', { token: admin.token });
    assert.equal(stats.status, 200, stats.text);
    assert.deepEqual(stats.json, { requested_by: user.id });
  }
});

test('a guarded route answers 401 without a valid token, with Tollgate\'s error body', async () => {
  const [tollgateKey] = JSON.parse(jwksText).keys;
  const stranger = keyPair(`stranger-${randomUUID()}`);
  // The classic confusion: HS256 keyed with the public key's bytes, under the real kid.
  const confused = (() => {
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: tollgateKey.kid })}.${b64({ sub: 'x' })}`;
    return `${input}.${createHmac('sha256', Buffer.from(tollgateKey.x, 'base64url')).update(input).digest('base64url')}`;
  })();
  for (const guard of [remote, fixed]) {
    const app = client(guard.url);
    const none = await app.get('/notes');
    assert.equal(none.status, 401);
    assert.equal(none.json.code, 'not_authenticated');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    for (const [label, token] of [
      ['garbage', 'a.b.c'],
      ['signed by a key this deployment never had', mint(stranger)],
      ['signed by a stranger under Tollgate\'s kid', mint(stranger, { kid: tollgateKey.kid })],
      ['HS256 keyed with the public key', confused],
    ]) {
      const res = await app.get('/notes', { token });
      assert.equal(res.status, 401, `${label}: ${res.text}`);
      assert.equal(res.json.code, 'invalid_token', label);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"', label);
    }
  }
});

test('a verify-only guard holding a signing secret as well refuses to serve, naming it', async () => {
  const guard = await startWorker({
    ...GUARD,
    readyPath: '/public',
    secrets: { JWT_SECRET: randomBytes(32).toString('base64url') },
    vars: { JWT_PUBLIC_KEYS: jwksText },
  });
  try {
    const user = await signUp(api);
    const res = await client(guard.url).get('/notes', { token: user.token });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.code, 'misconfigured');
    await guard.waitForLog(/misconfigured: JWT_SECRET [^"]*JWT_PUBLIC_KEYS/);
    assert.ok(!guard.log.includes(guard.secrets.JWT_SECRET), 'the secret never reaches the log');
  } finally {
    await guard.dispose();
  }
});

test('JWKS_URL keys are cached with the Cache API, refetched on an unknown kid, at most once per cooldown', async () => {
  const a = keyPair('key-a');
  const b = keyPair('key-b');
  const c = keyPair('key-c');
  jwksServer.doc = { keys: [a.jwk] };
  counted = await startWorker({ ...GUARD, secrets: { JWT_SECRET: undefined }, vars: { JWKS_URL: jwksServer.url } });
  let app = client(counted.url);
  const status = async (token) => (await app.get('/notes', { token })).status;

  assert.equal(await status(mint(a)), 200);
  assert.equal(jwksServer.fetches, 1, 'the first request fetches the keys');
  assert.equal(await status(mint(a)), 200);
  assert.equal(jwksServer.fetches, 1, 'later requests use the keys in memory');

  // A new isolate starts with empty memory and finds the keys in the Cache API.
  await counted.restart();
  app = client(counted.url);
  assert.equal(await status(mint(a)), 200);
  assert.equal(jwksServer.fetches, 1, 'a new isolate reads the Cache API, not the JWKS server');

  // The issuer rotates to key B: the first token under the unknown kid refetches.
  jwksServer.doc = { keys: [b.jwk, a.jwk] };
  assert.equal(await status(mint(b)), 200);
  assert.equal(jwksServer.fetches, 2, 'an unknown kid refetched once');
  assert.equal(await status(mint(a)), 200, 'the other keys of the new document verify too');

  // Unknown kids right after: no refetch, however many arrive.
  const cooldownEnds = Date.now() + REFETCH_COOLDOWN_MS;
  jwksServer.doc = { keys: [c.jwk, b.jwk] };
  for (let i = 0; i < 10; i++) {
    assert.equal(await status(mint(keyPair(`made-up-${i}`))), 401);
  }
  assert.equal(await status(mint(c)), 401, 'key C is not known yet');
  assert.equal(jwksServer.fetches, 2, 'no refetch within the cooldown');
  assert.equal(await status(mint(b)), 200);

  // Once the cooldown has passed, the next unknown kid refetches, and key A, gone from the
  // document, is refused from then on.
  await new Promise((r) => setTimeout(r, Math.max(0, cooldownEnds - Date.now()) + 1000));
  assert.equal(await status(mint(c)), 200);
  assert.equal(jwksServer.fetches, 3, 'one refetch after the cooldown');
  assert.equal(await status(mint(a)), 401, 'a key removed from the JWKS is no longer accepted');
});

test('with ACCESS_TOKEN_REVOCATION=session, a guard bound to USERS refuses a token whose session ended', async () => {
  // The example's configuration plus the binding its wrangler.toml shows commented out: the
  // auth Worker's USERS namespace, which two `wrangler dev`s share through one state directory.
  const path = join(dirname(testConfigPath(GUARD.config)), 'session-guard.toml');
  writeFileSync(path, `${readFileSync(testConfigPath(GUARD.config), 'utf8')}\n[[kv_namespaces]]\nbinding = "USERS"\n`);
  const guard = await startWorker({
    configPath: path, readyPath: '/public', persistDir: tollgate.persistDir,
    secrets: { JWT_SECRET: undefined }, vars: { JWT_PUBLIC_KEYS: jwksText, ACCESS_TOKEN_REVOCATION: 'session' },
  });
  try {
    const app = client(guard.url);
    const user = await signUp(api);
    const other = await logIn(api, user.email);
    assert.equal((await app.get('/notes', { token: user.token })).status, 200, 'a live session passes');
    assert.equal((await api.post('/auth/logout', { cookie: user.cookie })).status, 204);
    const ended = await app.get('/notes', { token: user.token });
    assert.equal(ended.status, 401, ended.text);
    assert.equal(ended.json.code, 'invalid_token');
    assert.equal((await app.get('/notes', { token: other.token })).status, 200, 'the other session goes on');
    // Without the binding, the guard refuses to serve rather than skip the check.
    const unbound = await startWorker({
      ...GUARD, secrets: { JWT_SECRET: undefined },
      vars: { JWT_PUBLIC_KEYS: jwksText, ACCESS_TOKEN_REVOCATION: 'session' },
    });
    try {
      const res = await client(unbound.url).get('/notes', { token: other.token });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.code, 'misconfigured');
      await unbound.waitForLog(/misconfigured: ACCESS_TOKEN_REVOCATION is session, but USERS is not bound/);
    } finally {
      await unbound.dispose();
    }
  } finally {
    await guard.dispose();
  }
});
