// The refresh cookie against a hostile browser context: who may make the Worker set it (login
// CSRF: every route that sets or clears it refuses cross-site requests) and which copy is read
// (cookie tossing: a `__Host-` name that no sibling subdomain can set, and a request carrying
// the name twice is refused without touching the real cookie). SECURITY.md, V3.3 and V3.5.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PASSWORD, REFRESH_COOKIE, client, logIn, signUp } from '../harness/api.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const login = (address, headers, password = PASSWORD) =>
  api.post('/auth/login', { form: { username: address, password }, headers });

/** What a browser sends for a form or fetch from another site, and what it sends from this one. */
const HOSTILE = [
  ['a foreign Origin', { Origin: 'https://evil.example' }],
  ['Sec-Fetch-Site: cross-site without an Origin', { 'Sec-Fetch-Site': 'cross-site' }],
  ['Sec-Fetch-Site: cross-site with this very Origin', { 'Sec-Fetch-Site': 'cross-site', Origin: BASE }],
  ['the opaque Origin of a sandboxed page', { Origin: 'null' }],
];
const FRIENDLY = [
  ['no Origin and no Sec-Fetch-Site (curl, native apps)', {}],
  ['this Origin', { Origin: BASE }],
  ['Sec-Fetch-Site: same-origin', { 'Sec-Fetch-Site': 'same-origin', Origin: BASE }],
  ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
  ['Sec-Fetch-Site: none (typed in the address bar)', { 'Sec-Fetch-Site': 'none' }],
];

describe('login CSRF: routes that set the refresh cookie refuse cross-site requests', () => {
  for (const [what, headers] of HOSTILE) {
    test(`a login with ${what} is 403 cross_site_refused, sets no cookie and issues no token`, async () => {
      const s = await signUp(api);
      const res = await login(s.email, headers);
      assert.equal(res.status, 403, `answered ${res.status} ${res.json?.code ?? ''}`);
      assert.equal(res.json.code, 'cross_site_refused');
      assert.deepEqual(res.headers.getSetCookie(), [], 'no Set-Cookie at all');
      assert.equal(res.json.access_token, undefined);
      // Refused before the password is judged: a wrong password gets the same 403, not a 401.
      assert.equal((await login(s.email, headers, 'not the password at all')).status, 403);
      // The victim's own session is untouched.
      assert.equal((await api.post('/auth/refresh', { cookie: s.cookie })).status, 200);
    });
  }

  for (const [what, headers] of FRIENDLY) {
    test(`a login with ${what} works and sets the cookie`, async () => {
      const s = await signUp(api);
      const res = await login(s.email, headers);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.cookie?.value, 'the refresh cookie is set');
    });
  }

  test('a refused login counts no failed attempt toward the lockout', async () => {
    const s = await signUp(api);
    for (let i = 0; i < 6; i++) {
      assert.equal((await login(s.email, { Origin: 'https://evil.example' }, 'wrong guess number ' + i)).status, 403);
    }
    assert.equal((await login(s.email, {})).status, 200, 'six refused cross-site guesses did not lock the account');
  });

  test('logout-all, which clears the cookie, refuses cross-site requests and ends nothing', async () => {
    const s = await signUp(api);
    for (const [what, headers] of HOSTILE) {
      const res = await api.post('/auth/logout-all', { token: s.token, headers });
      assert.equal(res.status, 403, `${what}: ${res.text}`);
      assert.equal(res.json.code, 'cross_site_refused');
      assert.deepEqual(res.headers.getSetCookie(), [], `${what}: no Set-Cookie`);
    }
    assert.equal((await api.post('/auth/refresh', { cookie: s.cookie })).status, 200, 'the session lives');
    assert.equal((await api.post('/auth/logout-all', { token: s.token, headers: { Origin: BASE } })).status, 204);
  });

  test('refresh and logout keep refusing cross-site requests', async () => {
    const s = await signUp(api);
    for (const path of ['/auth/refresh', '/auth/logout']) {
      for (const [what, headers] of HOSTILE) {
        const res = await api.post(path, { cookie: s.cookie, headers });
        assert.equal(res.status, 403, `${path}, ${what}: ${res.text}`);
        assert.deepEqual(res.headers.getSetCookie(), [], `${path}, ${what}: no Set-Cookie`);
      }
    }
    assert.equal((await api.post('/auth/refresh', { cookie: s.cookie })).status, 200);
  });

  test('routes that never set the cookie are not affected', async () => {
    const s = await signUp(api);
    const me = await api.get('/me', { token: s.token, headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(me.status, 200, 'a bearer route is not CSRF-able and keeps answering');
  });
});

describe('cookie tossing: the refresh cookie cannot be shadowed', () => {
  test('the cookie is named __Host- and is host-only with Path=/, as the prefix requires', async () => {
    assert.equal(REFRESH_COOKIE, '__Host-tollgate_refresh');
    const s = await signUp(api);
    const { attrs, line } = s.login.cookie;
    for (const a of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) assert.ok(attrs.includes(a), `${a} in ${line}`);
    assert.ok(!attrs.some((a) => /^domain=/i.test(a)), `no Domain attribute in ${line}`);
    assert.ok(!attrs.some((a) => /^path=(?!\/$)/i.test(a)), `no other Path in ${line}`);
    for (const res of [await api.post('/auth/logout', { cookie: s.cookie })]) {
      const clear = res.headers.getSetCookie().find((c) => c.startsWith(`${REFRESH_COOKIE}=;`));
      assert.ok(clear, 'logout clears the same cookie');
      assert.match(clear, /; Path=\/;/);
      assert.match(clear, /Max-Age=0/);
    }
  });

  test('a request carrying the refresh cookie twice is refused without clearing or rotating the real one', async () => {
    const victim = await signUp(api);
    const attacker = await signUp(api);
    // A tossed cookie (set by a sibling subdomain on the parent domain with a longer path)
    // comes first; either order is refused.
    for (const cookie of [`${attacker.cookie}; ${victim.cookie}`, `${victim.cookie}; ${attacker.cookie}`, `${victim.cookie}; ${victim.cookie}`]) {
      const res = await api.post('/auth/refresh', { cookie });
      assert.equal(res.status, 401, `answered ${res.status} ${res.json?.code ?? ''}`);
      assert.equal(res.json.code, 'invalid_refresh_token');
      assert.deepEqual(res.headers.getSetCookie(), [], 'the real cookie is neither cleared nor replaced');
      assert.equal(res.json.access_token, undefined);
      const out = await api.post('/auth/logout', { cookie });
      assert.equal(out.status, 401, `logout: ${out.text}`);
      assert.deepEqual(out.headers.getSetCookie(), [], 'logout clears nothing either');
    }
    const next = await api.post('/auth/refresh', { cookie: victim.cookie });
    assert.equal(next.status, 200, 'the victim\'s session was neither revoked nor rotated');
    const claims = JSON.parse(Buffer.from(next.json.access_token.split('.')[1], 'base64url'));
    assert.equal(claims.sub, victim.id);
    assert.equal((await api.post('/auth/refresh', { cookie: attacker.cookie })).status, 200);
  });

  test('the old __Secure- name is never read, so a tossed copy of it signs no one in', async () => {
    const s = await logIn(api, (await signUp(api)).email);
    const res = await api.post('/auth/refresh', { cookie: `__Secure-tollgate_refresh=${s.refresh}` });
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 'invalid_refresh_token');
  });
});
