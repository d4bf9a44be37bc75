// Configuration: a missing or weak secret (JWT_SECRET, REFRESH_SECRET, in every key mode)
// refuses to serve (503 misconfigured on every route, with a log line naming the setting,
// never its value); CORS follows ALLOWED_ORIGINS;
// an Ed25519 key publishes its JWKS; JWT_PREVIOUS_SECRETS carries sessions across a rotation.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { client, signUp } from '../harness/api.mjs';
import { ROOT, startWorker } from '../harness/worker.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.dispose(); });
async function serve(opts) {
  const s = await startWorker(opts);
  servers.push(s);
  return s;
}

/** Every documented operation, with a path that matches it. */
function operations() {
  const spec = JSON.parse(readFileSync(join(ROOT, 'worker/openapi.json'), 'utf8'));
  const id = '0b5d1e0c-0000-4000-8000-000000000000';
  return Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path: path.replace('{id}', id), documented: ops[method] })));
}

const ED25519_PEM = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
const STRONG = () => randomBytes(32).toString('base64url');
// 32 bytes and more, but a pattern: refused as JWT_SECRET, and as every other secret too.
const PATTERN = '0123456789abcdef0123456789abcdef';
for (const [label, secrets, name] of [
  ['a missing JWT_SECRET', { JWT_SECRET: undefined }, 'JWT_SECRET'],
  ['a too short JWT_SECRET', { JWT_SECRET: 'Zq8vT1mX' }, 'JWT_SECRET'],
  ['a well-known example JWT_SECRET', { JWT_SECRET: 'your-256-bit-secret-your-256-bit-secret' }, 'JWT_SECRET'],
  // Every secret is checked in every mode: with an EdDSA key, JWT_SECRET signs nothing but
  // may still key the refresh tokens, and REFRESH_SECRET always does.
  ['a weak JWT_SECRET beside JWT_PRIVATE_KEY', { JWT_PRIVATE_KEY: ED25519_PEM, JWT_SECRET: PATTERN }, 'JWT_SECRET'],
  ['a weak REFRESH_SECRET', { REFRESH_SECRET: PATTERN }, 'REFRESH_SECRET'],
  ['JWT_PRIVATE_KEY with no refresh key at all', { JWT_PRIVATE_KEY: ED25519_PEM, JWT_SECRET: undefined }, 'REFRESH_SECRET'],
]) {
  test(`${label} makes every route answer 503 misconfigured, naming ${name} once in the log`, async () => {
    const server = await serve({ secrets });
    const api = client(server.url);
    for (const op of operations()) {
      const res = await api.call(op.method, op.path, { json: op.method === 'GET' || op.method === 'DELETE' ? undefined : {} });
      assert.equal(res.status, 503, `${op.method} ${op.path}`);
      assert.equal(res.json.code, 'misconfigured');
    }
    // One line, keys in sorted order: {"detail":"misconfigured: JWT_SECRET ...","event":"misconfigured",...}
    const line = `"detail":"misconfigured: ${name} (?:[^"\\\\]|\\\\.)*","event":"misconfigured"`;
    await server.waitForLog(new RegExp(line));
    assert.equal(server.log.match(new RegExp(line, 'g')).length, 1, 'one line per isolate, not one per request');
    for (const value of Object.values(secrets)) {
      if (value) assert.ok(!server.log.includes(value), 'no secret reaches the log');
    }
  });
}

test('with JWT_PRIVATE_KEY and REFRESH_SECRET, no JWT_SECRET is needed: sign-in and refresh work', async () => {
  const server = await serve({ secrets: { JWT_PRIVATE_KEY: ED25519_PEM, REFRESH_SECRET: STRONG(), JWT_SECRET: undefined } });
  const api = client(server.url);
  const user = await signUp(api);
  assert.equal(JSON.parse(Buffer.from(user.token.split('.')[0], 'base64url')).alg, 'EdDSA');
  const fresh = await api.post('/auth/refresh', { cookie: user.cookie });
  assert.equal(fresh.status, 200, fresh.text);
  assert.equal((await api.get('/me', { token: fresh.json.access_token })).status, 200);
});

test('the Worker wrangler deploy ships has no fault injection: TOLLGATE_FAULT_INJECTION makes it answer 503 misconfigured', async () => {
  // startWorker runs the deploy build (scripts/build-worker.sh without --test).
  const server = await serve({ vars: { TOLLGATE_FAULT_INJECTION: 'put:email=fail' } });
  const api = client(server.url);
  for (const [method, path] of [['GET', '/health'], ['POST', '/auth/register'], ['POST', '/auth/login']]) {
    const res = await api.call(method, path, { json: method === 'POST' ? {} : undefined });
    assert.equal(res.status, 503, `${method} ${path}`);
    assert.equal(res.json.code, 'misconfigured');
  }
  await server.waitForLog(/"detail":"misconfigured: TOLLGATE_FAULT_INJECTION (?:[^"\\]|\\.)*","event":"misconfigured"/);
  // Compiled out, not switched off: the plan reader and the injecting code are not in the
  // wasm at all (their messages are in the test build's, worker/build-test/, and only there).
  const wasm = readFileSync(join(ROOT, 'worker/build/index_bg.wasm'));
  for (const text of ['failed (injected)', 'expected operation:prefix=fail|timeout']) {
    assert.ok(!wasm.includes(text), `the deployed wasm holds "${text}"`);
  }
});

test('ALLOWED_ORIGINS get CORS with credentials; other origins get none', async () => {
  const server = await serve({ vars: { ALLOWED_ORIGINS: 'https://app.example, https://admin.example/' } });
  const api = client(server.url);
  const pre = await api.call('OPTIONS', '/auth/refresh', { headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  const res = await api.get('/health', { headers: { Origin: 'https://admin.example' } });
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://admin.example');
  assert.match(res.headers.get('access-control-expose-headers'), /Date/);
  const foreign = await api.get('/health', { headers: { Origin: 'https://evil.example' } });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  const user = await signUp(api);
  assert.equal((await api.post('/auth/refresh', { cookie: user.cookie, headers: { Origin: 'https://app.example' } })).status, 200);
});

test('an Ed25519 JWT_PRIVATE_KEY signs EdDSA tokens and publishes its key', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const server = await serve({ secrets: { JWT_PRIVATE_KEY: pem } });
  const api = client(server.url);
  const jwks = await api.get('/.well-known/jwks.json');
  assert.equal(jwks.status, 200);
  assert.equal(jwks.json.keys.length, 1);
  const [key] = jwks.json.keys;
  assert.equal(key.x, publicKey.export({ format: 'jwk' }).x);
  assert.equal(jwks.headers.get('cache-control'), 'public, max-age=300');
  const user = await signUp(api);
  const header = JSON.parse(Buffer.from(user.token.split('.')[0], 'base64url'));
  assert.deepEqual([header.alg, header.kid], ['EdDSA', key.kid]);
  assert.equal((await api.get('/me', { token: user.token })).status, 200);
});

test('JWT_PREVIOUS_SECRETS keeps tokens of a rotated-out HS256 secret valid, and only those', async () => {
  const oldSecret = randomBytes(32).toString('base64url');
  const server = await serve({ secrets: { JWT_SECRET: oldSecret } });
  let api = client(server.url);
  const user = await signUp(api);
  assert.equal((await api.get('/auth/claims', { token: user.token })).status, 200);

  // Rotate: a new JWT_SECRET, the old one kept verify-only (with a blank line and a second,
  // unrelated previous secret, as an operator rotating twice would have them).
  const newSecret = randomBytes(32).toString('base64url');
  const unrelated = randomBytes(32).toString('base64url');
  const rotated = { JWT_SECRET: newSecret, JWT_PREVIOUS_SECRETS: `${unrelated}\n\n${oldSecret}\n` };
  writeFileSync(server.envFile, Object.entries(rotated).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(''));
  await server.restart();
  api = client(server.url);
  assert.equal((await api.get('/auth/claims', { token: user.token })).status, 200, 'a token of the previous secret still verifies');
  // The refresh key is derived from JWT_SECRET (no REFRESH_SECRET here): the session goes on,
  // and what it gets now is signed with the new secret alone.
  const fresh = await api.post('/auth/refresh', { cookie: user.cookie });
  assert.equal(fresh.status, 200, 'rotating JWT_SECRET ends no session');
  assert.equal((await api.post('/auth/refresh', { cookie: fresh.cookie.pair })).status, 200, 'the rotated refresh token works');

  // Without the previous secret, the old token is just invalid.
  writeFileSync(server.envFile, `JWT_SECRET=${JSON.stringify(newSecret)}\n`);
  await server.restart();
  api = client(server.url);
  const refused = await api.get('/auth/claims', { token: user.token });
  assert.equal(refused.status, 401);
  assert.equal(refused.json.code, 'invalid_token');
  assert.equal((await api.get('/auth/claims', { token: fresh.json.access_token })).status, 200, 'tokens of the new secret verify');
});
