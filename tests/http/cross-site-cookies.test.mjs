// CROSS_SITE_COOKIES: a frontend on another site (`*.pages.dev` with Tollgate on
// `*.workers.dev`) keeps its session in a `SameSite=None; Secure; Partitioned` (CHIPS) refresh
// cookie, and the routes that set or clear it take a cross-site request only from an exact
// ALLOWED_ORIGINS origin *and* with the `Tollgate-CSRF` header, which no form can send and no
// script can send cross-origin without a CORS preflight the Worker grants only to those
// origins. Everything else is refused with 403 `cross_site_refused`, whose detail names the
// fix. README "Where the frontend lives"; SECURITY.md V3.5.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, REFRESH_COOKIE, client, fromAnywhere, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

const APP = 'https://app.example';
let server;
let api;

before(async () => {
  server = await startWorker({ vars: { CROSS_SITE_COOKIES: 'true', ALLOWED_ORIGINS: APP } });
  api = client(server.url);
});
after(async () => {
  await server?.dispose();
});

/** What Chromium sends for a `fetch` of @tollgate/client on the app's page. */
const fromApp = { Origin: APP, 'Sec-Fetch-Site': 'cross-site', 'Tollgate-CSRF': '1' };
const login = (address, headers, password = PASSWORD) =>
  api.post('/auth/login', { form: { username: address, password }, headers: { ...fromAnywhere(), ...headers } });

const attributes = (line) => line.split(';').slice(1).map((a) => a.trim());

describe('CROSS_SITE_COOKIES=true', () => {
  test('the refresh cookie is SameSite=None; Secure; Partitioned, and is cleared in its partition', async () => {
    const s = await signUp(api, { headers: fromApp });
    const attrs = attributes(s.login.cookie.line);
    for (const a of ['HttpOnly', 'Secure', 'SameSite=None', 'Partitioned', 'Path=/']) assert.ok(attrs.includes(a), `${a} in ${s.login.cookie.line}`);
    assert.ok(!attrs.includes('SameSite=Strict'));
    assert.ok(s.login.cookie.line.startsWith(`${REFRESH_COOKIE}=`));
    assert.ok(!attrs.some((a) => /^domain=/i.test(a)), 'still host-only (__Host-)');
    const out = await api.post('/auth/logout', { cookie: s.cookie, headers: fromApp });
    assert.equal(out.status, 204, out.text);
    const clear = out.headers.getSetCookie().find((c) => c.startsWith(`${REFRESH_COOKIE}=;`));
    assert.ok(clear, 'logout clears the cookie');
    for (const a of ['SameSite=None', 'Partitioned', 'Max-Age=0']) assert.ok(attributes(clear).includes(a), `${a} in ${clear}`);
  });

  test('the app\'s cross-site requests with the Tollgate-CSRF header sign in, refresh and sign out, with CORS', async () => {
    const s = await signUp(api, { headers: fromApp });
    assert.equal(s.login.headers.get('access-control-allow-origin'), APP);
    assert.equal(s.login.headers.get('access-control-allow-credentials'), 'true');
    const next = await api.post('/auth/refresh', { cookie: s.cookie, headers: fromApp });
    assert.equal(next.status, 200, next.text);
    assert.ok(attributes(next.cookie.line).includes('Partitioned'));
    const all = await api.post('/auth/logout-all', { token: next.json.access_token, headers: fromApp });
    assert.equal(all.status, 204, all.text);
    assert.equal((await api.post('/auth/refresh', { cookie: next.cookie.pair, headers: fromApp })).status, 401);
  });

  test('the preflight grants the Tollgate-CSRF header to the listed origin only', async () => {
    const ask = (origin) => api.call('OPTIONS', '/auth/login', {
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'tollgate-csrf' },
    });
    const granted = await ask(APP);
    assert.equal(granted.status, 204);
    assert.equal(granted.headers.get('access-control-allow-origin'), APP);
    assert.match(granted.headers.get('access-control-allow-headers'), /(^|, )Tollgate-CSRF(,|$)/);
    const refused = await ask('https://evil.example');
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    assert.equal(refused.headers.get('access-control-allow-headers'), null);
  });

  // What a hostile page can make a browser send, and what an app's client must not omit.
  const REFUSED = [
    ['the listed origin without the Tollgate-CSRF header (a form post, or an old client)', { Origin: APP, 'Sec-Fetch-Site': 'cross-site' }, /Tollgate-CSRF/],
    ['the listed origin without the header, from a browser that sends no Sec-Fetch-Site', { Origin: APP }, /Tollgate-CSRF/],
    ['a foreign origin, even with the header', { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site', 'Tollgate-CSRF': '1' }, /ALLOWED_ORIGINS/],
    ['the opaque origin of a sandboxed page', { Origin: 'null', 'Sec-Fetch-Site': 'cross-site', 'Tollgate-CSRF': '1' }, /ALLOWED_ORIGINS/],
    ['Sec-Fetch-Site: cross-site without an Origin', { 'Sec-Fetch-Site': 'cross-site', 'Tollgate-CSRF': '1' }, /Origin/],
    ['Sec-Fetch-Site: cross-site with this very Origin', { 'Sec-Fetch-Site': 'cross-site', Origin: '__OWN__', 'Tollgate-CSRF': '1' }, /Origin/],
  ];
  const own = (headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === '__OWN__' ? server.url : v]));

  for (const [what, headers, fix] of REFUSED) {
    test(`login, refresh, logout and logout-all refuse ${what}: 403 cross_site_refused naming the fix, nothing judged or set`, async () => {
      const s = await signUp(api, { headers: fromApp });
      for (const password of [PASSWORD, 'not the password at all']) {
        const res = await login(s.email, own(headers), password);
        assert.equal(res.status, 403, `login answered ${res.status} ${res.text}`);
        assert.equal(res.json.code, 'cross_site_refused');
        assert.match(res.json.detail, fix);
        assert.deepEqual(res.headers.getSetCookie(), []);
      }
      for (const [path, opts] of [['/auth/refresh', { cookie: s.cookie }], ['/auth/logout', { cookie: s.cookie }], ['/auth/logout-all', { token: s.token }]]) {
        const res = await api.post(path, { ...opts, headers: own(headers) });
        assert.equal(res.status, 403, `${path}: ${res.text}`);
        assert.equal(res.json.code, 'cross_site_refused');
        assert.deepEqual(res.headers.getSetCookie(), [], `${path}: no Set-Cookie`);
      }
      assert.equal((await api.post('/auth/refresh', { cookie: s.cookie, headers: fromApp })).status, 200, 'the session is untouched');
    });
  }

  test('a refusal is logged as access_denied with its reason', async () => {
    await login('nobody@example.com', { Origin: APP, 'Sec-Fetch-Site': 'cross-site' });
    await server.waitForLog(/^(?=.*"event":"access_denied")(?=.*"required":"tollgate-csrf header").*$/m);
  });

  test('same-origin pages, curl and native apps need no header, as without CROSS_SITE_COOKIES', async () => {
    const s = await signUp(api, { headers: fromApp });
    for (const headers of [{}, { Origin: server.url, 'Sec-Fetch-Site': 'same-origin' }, { 'Sec-Fetch-Site': 'none' }]) {
      const res = await login(s.email, headers);
      assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.text}`);
    }
  });
});
