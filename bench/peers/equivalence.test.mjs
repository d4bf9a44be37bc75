// Each peer does the same work as Tollgate's route: this test checks that every server
// accepts the same tokens and rejects the same tampered or ill-formed ones, and that /me and
// /auth/claims answer with the same JSON. `make bench` (bench/run.sh) runs it first and
// refuses to report if it fails.
//
// Not part of `make test`: it needs the FastAPI peer's Python venv (bench/setup.sh installs
// it) and starts three servers (about a minute). Run it alone with
//   node --test bench/peers/equivalence.test.mjs
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { client } from '../../tests/harness/api.mjs';
import { startFleet } from '../lib/fleet.mjs';

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const parse = (seg) => JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'));

let fleet;
let servers; // [name, url, routes]
before(async () => {
  fleet = await startFleet({ hono: true, fastapi: true });
  servers = [
    ['tollgate', fleet.tollgate.url, ['/me', '/auth/claims']],
    ['hono', fleet.hono.url, ['/me', '/auth/claims']],
    ['fastapi', fleet.fastapi.url, ['/me']],
  ];
}, { timeout: 300_000 });
after(async () => { await fleet?.stop(); });

/** A token signed with `secret` (the shared one by default) from a header and claims. */
function sign(header, claims, secret = fleet.secret) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The claims and header of Tollgate's own token, for forging variants of it. */
function tollgateParts() {
  const [h, p] = fleet.token.split('.');
  return { header: parse(h), claims: parse(p) };
}

function variants() {
  const { header, claims } = tollgateParts();
  const now = Math.floor(Date.now() / 1000);
  const [h, p, s] = fleet.token.split('.');
  const flip = (str, i) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
  return {
    accepted: {
      'the token Tollgate issued': fleet.token,
      'the same claims re-signed with the shared secret': sign(header, { ...claims, jti: 'resigned' }),
      'typ application/at+jwt': sign({ ...header, typ: 'application/at+jwt' }, claims),
    },
    rejected: {
      'a flipped signature byte': `${h}.${p}.${flip(s, 10)}`,
      'a payload changed to role admin': `${h}.${b64url({ ...claims, role: 'admin' })}.${s}`,
      'signed with another secret': sign(header, claims, 'another-secret-of-the-same-length-0123456789'),
      'alg none': `${b64url({ alg: 'none', typ: 'at+jwt' })}.${p}.`,
      'typ JWT (not an access token)': sign({ ...header, typ: 'JWT' }, claims),
      'the wrong audience': sign(header, { ...claims, aud: 'someone-else' }),
      'the wrong issuer': sign(header, { ...claims, iss: 'someone-else' }),
      'expired an hour ago': sign(header, { ...claims, exp: now - 3600, iat: now - 4500, nbf: now - 4500 }),
      'not valid for another hour': sign(header, { ...claims, nbf: now + 3600, iat: now + 3600, exp: now + 7200 }),
      'two segments': `${h}.${p}`,
    },
  };
}

async function status(url, path, token) {
  const res = await client(url).get(path, { token });
  return res.status;
}

describe('every peer accepts and rejects the same tokens', () => {
  test('accepted tokens answer 200 everywhere', async () => {
    for (const [what, token] of Object.entries(variants().accepted)) {
      for (const [name, url, routes] of servers) {
        for (const route of routes) assert.equal(await status(url, route, token), 200, `${name} ${route}: ${what}`);
      }
    }
  });

  test('tampered and ill-formed tokens answer 401 everywhere', async () => {
    for (const [what, token] of Object.entries(variants().rejected)) {
      for (const [name, url, routes] of servers) {
        for (const route of routes) assert.equal(await status(url, route, token), 401, `${name} ${route}: ${what}`);
      }
    }
  });

  test('no token answers 401 everywhere', async () => {
    for (const [name, url, routes] of servers) {
      for (const route of routes) assert.equal((await client(url).get(route)).status, 401, `${name} ${route}`);
    }
  });
});

describe('every peer answers with the same JSON', () => {
  test('/me is the same record in the same shape', async () => {
    const bodies = {};
    for (const [name, url] of servers) bodies[name] = (await client(url).get('/me', { token: fleet.token })).json;
    assert.equal(bodies.tollgate.id, fleet.user.id);
    assert.deepEqual(bodies.hono, bodies.tollgate);
    assert.deepEqual(bodies.fastapi, bodies.tollgate);
  });

  test('/auth/claims is the same on Tollgate and Hono', async () => {
    const t = (await client(fleet.tollgate.url).get('/auth/claims', { token: fleet.token })).json;
    const h = (await client(fleet.hono.url).get('/auth/claims', { token: fleet.token })).json;
    assert.deepEqual(h, t);
  });
});

describe('the FastAPI peer registers and logs in like Tollgate', () => {
  test('its login checks the same argon2id hash and its token works on Tollgate', async () => {
    const api = client(fleet.fastapi.url);
    const wrong = await api.post('/auth/login', { form: { username: fleet.user.email, password: 'not the password at all' } });
    assert.equal(wrong.status, 401);
    const ok = await api.post('/auth/login', { form: { username: fleet.user.email, password: fleet.user.password } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token_type, 'bearer');
    // Same claims, same secret: Tollgate's stateless route accepts the peer's token.
    assert.equal(await status(fleet.tollgate.url, '/auth/claims', ok.json.access_token), 200);
    assert.equal(await status(fleet.hono.url, '/me', ok.json.access_token), 200);
  });

  test('its register stores an argon2id hash at Tollgate\'s parameters', async () => {
    const api = client(fleet.fastapi.url);
    const email = `peer-${Date.now()}@example.com`;
    const reg = await api.post('/auth/register', { json: { email, password: fleet.user.password } });
    assert.equal(reg.status, 201);
    const login = await api.post('/auth/login', { form: { username: email, password: fleet.user.password } });
    assert.equal(login.status, 200);
    assert.match(fleet.record.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
