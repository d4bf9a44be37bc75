// `tollgate keygen` against a real `wrangler dev`: the Worker starts with what keygen prints,
// signs with it, and publishes the printed JWK.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startWorker } from '../harness/worker.mjs';
import { jwtHeader, login, register, tollgate } from '../cli/cli.mjs';

const servers = [];
before(() => { tollgate(['--version']); });
after(async () => { for (const s of servers) await s.dispose(); });

async function registerAndLogIn(base, email) {
  const password = 'keygen-e2e-password-1';
  const reg = await register(base, email, password);
  assert.equal(reg.status, 201, await reg.text());
  const res = await login(base, email, password);
  assert.equal(res.status, 200, await res.clone().text());
  const { access_token: token } = await res.json();
  const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200, await me.clone().text());
  assert.equal((await me.json()).email, email);
  return token;
}

test('the Worker runs on a JWT_SECRET from `tollgate keygen` and signs with it', async () => {
  const run = tollgate(['keygen']);
  assert.equal(run.code, 0, run.stderr);
  const secret = run.stdout;
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  const kid = /^kid: (\S+)$/m.exec(run.stderr)?.[1];
  assert.ok(kid, run.stderr);

  const server = await startWorker({ secrets: { JWT_SECRET: secret } });
  servers.push(server);
  const token = await registerAndLogIn(server.url, 'hs256-keygen@example.com');
  // The kid is derived from the secret: tokens carrying it were signed with keygen's secret.
  assert.deepEqual(jwtHeader(token), { alg: 'HS256', typ: 'at+jwt', kid });
});

test('the Worker runs on a JWT_PRIVATE_KEY from `tollgate keygen --ed25519` and publishes its JWK', async () => {
  const run = tollgate(['keygen', '--ed25519']);
  assert.equal(run.code, 0, run.stderr);
  const pem = run.stdout;
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  const jwk = JSON.parse(/^public JWK: (.+)$/m.exec(run.stderr)?.[1] ?? 'null');
  assert.equal(jwk.kty, 'OKP');

  const server = await startWorker({ secrets: { JWT_PRIVATE_KEY: pem } });
  servers.push(server);
  const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
  assert.deepEqual(jwks.keys, [jwk], 'the JWKS lists exactly the key keygen printed');
  const token = await registerAndLogIn(server.url, 'ed25519-keygen@example.com');
  assert.deepEqual(jwtHeader(token), { alg: 'EdDSA', typ: 'at+jwt', kid: jwk.kid });
});
