// The identity-provider routes over plain HTTP (no browser), against a real OpenID Provider
// (tests/harness/oidc-provider.mjs) driven through its development login and consent forms:
// every documented status of /auth/oauth/* and /auth/identities* (the OpenAPI coverage check
// sees these responses), and the callback's refresh cookie. The full browser flow, with the
// failure cases, is tests/browser/oidc-sign-in.test.mjs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { client } from '../harness/api.mjs';
import { startOidcProvider } from '../harness/oidc-provider.mjs';
import { freePort, startWorker } from '../harness/worker.mjs';

const CLIENT_ID = 'tollgate-http';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const PASSWORD = 'correct horse battery staple 42';

let server;
let idp;
let tg;

before(async () => {
  const [port, idpPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  idp = await startOidcProvider({
    port: idpPort, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
    redirectUris: [`${url}/auth/oauth/idp/callback`, `${url}/auth/oauth/gh/callback`],
  });
  const providers = {
    idp: { issuer: idp.issuer, client_id: CLIENT_ID, scopes: 'openid email' },
    // Plain OAuth2 read the way the github preset reads GitHub (the harness's GitHub-shaped
    // API): a user document without an address, and the list of addresses.
    gh: {
      authorization_endpoint: `${idp.issuer}/auth`, token_endpoint: `${idp.issuer}/token`,
      userinfo_endpoint: `${idp.issuer}/github/user`, emails_endpoint: `${idp.issuer}/github/user/emails`,
      client_id: CLIENT_ID, scopes: 'openid email',
    },
    nosecret: { issuer: idp.issuer, client_id: CLIENT_ID },
  };
  server = await startWorker({
    port,
    vars: { OAUTH_PROVIDERS: JSON.stringify(providers), APP_URL: `${url}/` },
    secrets: { OAUTH_IDP_CLIENT_SECRET: CLIENT_SECRET, OAUTH_GH_CLIENT_SECRET: CLIENT_SECRET },
  });
  tg = client(server.url);
});

after(async () => {
  await server?.dispose();
  await idp?.close();
});

/** The value of cookie `name` among a response's `Set-Cookie` lines. */
function setCookie(headers, name) {
  const line = headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0].slice(name.length + 1);
}

/**
 * Goes through the provider as a browser would, from Tollgate's start URL (`startPath`) to its
 * callback, submitting the provider's login form as `login` and its consent form; returns the
 * callback's response. `beforeCallback(path, cookie)` runs just before the callback's GET.
 */
async function throughProvider(startPath, login, { beforeCallback } = {}) {
  const started = await tg.get(startPath);
  assert.equal(started.status, 302, started.text);
  const state = setCookie(started.headers, 'tollgate_oauth_state');
  const jar = new Map();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let next = { url: started.headers.get('Location'), method: 'GET', body: undefined };
  for (let hops = 0; hops < 20; hops++) {
    if (next.url.startsWith(server.url)) {
      const path = next.url.slice(server.url.length);
      const cookie = `tollgate_oauth_state=${state}`;
      await beforeCallback?.(path, cookie);
      return tg.get(path, { cookie });
    }
    const res = await fetch(next.url, {
      method: next.method, redirect: 'manual', body: next.body,
      headers: { Cookie: cookieHeader(), ...(next.body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    if (res.status >= 300 && res.status < 400) {
      next = { url: new URL(res.headers.get('Location'), next.url).toString(), method: 'GET', body: undefined };
      continue;
    }
    const html = await res.text();
    const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
    assert.ok(action, `no form at ${next.url}: ${res.status} ${html.slice(0, 200)}`);
    const form = html.includes('name="login"')
      ? new URLSearchParams({ prompt: 'login', login, password: 'any' })
      : new URLSearchParams({ prompt: 'consent' });
    next = { url: new URL(action.replaceAll('&amp;', '&'), next.url).toString(), method: 'POST', body: form.toString() };
  }
  throw new Error('the provider never sent the browser back');
}

/** Signs in at `provider` as `login` and returns an access token of the new session. */
async function signInThroughProvider(login, provider = 'idp') {
  const back = await throughProvider(`/auth/oauth/${provider}/start?redirect_to=${encodeURIComponent(`${server.url}/app`)}`, login);
  assert.equal(back.status, 302);
  assert.equal(back.headers.get('Location'), `${server.url}/app`);
  assert.ok(back.cookie, 'the callback sets the refresh cookie');
  const refreshed = await tg.post('/auth/refresh', { cookie: back.cookie.pair, headers: { Origin: server.url } });
  assert.equal(refreshed.status, 200, refreshed.text);
  return refreshed.json.access_token;
}

/** A new password account's access token; `scope` narrows the session at login. */
async function passwordAccount({ scope } = {}) {
  const email = `http-${randomBytes(5).toString('hex')}@example.com`;
  assert.equal((await tg.post('/auth/register', { json: { email, password: PASSWORD } })).status, 201);
  const form = { username: email, password: PASSWORD, client_type: 'native', ...(scope ? { scope } : {}) };
  const login = await tg.post('/auth/login', { form, headers: { Origin: server.url } });
  assert.equal(login.status, 200, login.text);
  return login.json.access_token;
}

test('the providers list and the start route: 302 with the state cookie, 404, 422, 503', async () => {
  const listed = await tg.get('/auth/oauth/providers');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.providers, ['gh', 'idp', 'nosecret']);

  const started = await tg.get(`/auth/oauth/idp/start?redirect_to=${encodeURIComponent(`${server.url}/`)}`);
  assert.equal(started.status, 302);
  const location = new URL(started.headers.get('Location'));
  assert.equal(location.origin, idp.issuer);
  assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(location.searchParams.get('redirect_uri'), `${server.url}/auth/oauth/idp/callback`);
  const cookie = started.headers.getSetCookie().find((c) => c.startsWith('tollgate_oauth_state='));
  assert.match(cookie, /; HttpOnly; Secure; SameSite=Lax; Path=\/auth\/oauth\/; Max-Age=600$/);
  assert.equal(setCookie(started.headers, 'tollgate_oauth_state'), location.searchParams.get('state'));

  assert.equal((await tg.get('/auth/oauth/nobody/start')).status, 404);
  const open = await tg.get(`/auth/oauth/idp/start?redirect_to=${encodeURIComponent('https://evil.example/')}`);
  assert.equal(open.status, 422);
  assert.equal(open.json.errors[0].field, 'redirect_to');
  const noSecret = await tg.get('/auth/oauth/nosecret/start');
  assert.equal(noSecret.status, 503);
  assert.equal(noSecret.json.code, 'misconfigured');
});

test('a callback without this browser\'s state is a 302 back to APP_URL with #error=invalid_state', async () => {
  const res = await tg.get('/auth/oauth/idp/callback?code=x&state=forged');
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('Location'), `${server.url}/#error=invalid_state`);
  assert.equal(res.cookie, undefined);
});

test('a HEAD on the start or callback URL is 405 and neither starts nor uses up a sign-in', async () => {
  // HEAD is safe by HTTP's rules and these GETs are not. The callback's state is single use,
  // so a HEAD from this browser (it carries the state cookie) that ran the callback would
  // spend it and the provider's code, and the browser's own GET would then fail with
  // invalid_state.
  const start = `/auth/oauth/idp/start?redirect_to=${encodeURIComponent(`${server.url}/app`)}`;
  const headStart = await tg.call('HEAD', start);
  assert.equal(headStart.status, 405);
  assert.equal(headStart.headers.get('Allow'), 'GET');
  assert.equal(setCookie(headStart.headers, 'tollgate_oauth_state'), undefined, 'no pending sign-in');
  let headCallback;
  const back = await throughProvider(start, `head-${randomBytes(4).toString('hex')}`, {
    beforeCallback: async (path, cookie) => { headCallback = await tg.call('HEAD', path, { cookie }); },
  });
  assert.equal(headCallback.status, 405);
  assert.equal(headCallback.headers.get('Allow'), 'GET');
  assert.deepEqual(headCallback.headers.getSetCookie(), [], 'a refused HEAD sets no cookie');
  assert.equal(back.status, 302);
  assert.equal(back.headers.get('Location'), `${server.url}/app`, 'the GET after it still signs in');
  assert.ok(back.cookie, 'and sets the refresh cookie');
});

test('a GitHub-style provider: the primary address from its list, verified as the list says', async () => {
  // The user document has no address (a private one): without the list this sign-in would
  // have no email to create the account with.
  const tag = randomBytes(4).toString('hex');
  for (const [login, verified] of [[`gh-${tag}@example.com`, true], [`unverified-gh-${tag}@example.com`, false]]) {
    const token = await signInThroughProvider(login, 'gh');
    const me = await tg.get('/me', { token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.email, login);
    assert.equal(me.json.email_verified, verified, login);
    const listed = await tg.get('/auth/identities', { token });
    assert.deepEqual(listed.json.identities.map((i) => [i.provider, i.email]), [['gh', login]]);
  }
});

test('identities: list, link, unlink, and 409 last_login_method for a provider-made account', async () => {
  // A provider-made account: its one identity cannot go.
  const social = await signInThroughProvider(`social-${randomBytes(4).toString('hex')}@example.com`);
  const listed = await tg.get('/auth/identities', { token: social });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.identities.map((i) => i.provider), ['idp']);
  const last = await tg.del('/auth/identities/idp', { token: social });
  assert.equal(last.status, 409);
  assert.equal(last.json.code, 'last_login_method');

  // A password account links the provider, then unlinks it.
  const token = await passwordAccount();
  assert.equal((await tg.post('/auth/identities/nobody/link', { token })).status, 404);
  const badTarget = await tg.post(`/auth/identities/idp/link?redirect_to=${encodeURIComponent('https://evil.example/')}`, { token });
  assert.equal(badTarget.status, 422);
  const link = await tg.post(`/auth/identities/idp/link?redirect_to=${encodeURIComponent(`${server.url}/account`)}`, { token });
  assert.equal(link.status, 200);
  const back = await throughProvider(link.json.url.slice(server.url.length), `linked-${randomBytes(4).toString('hex')}`);
  assert.equal(back.headers.get('Location'), `${server.url}/account#linked=idp`);
  assert.deepEqual((await tg.get('/auth/identities', { token })).json.identities.map((i) => i.provider), ['idp']);
  assert.equal((await tg.del('/auth/identities/idp', { token })).status, 204);
  assert.equal((await tg.del('/auth/identities/idp', { token })).status, 404);

  // A session narrowed at login to `sessions` may not see or change the linked identities.
  const narrow = await passwordAccount({ scope: 'sessions' });
  for (const res of [
    await tg.get('/auth/identities', { token: narrow }),
    await tg.post('/auth/identities/idp/link', { token: narrow }),
    await tg.del('/auth/identities/idp', { token: narrow }),
  ]) {
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json.code, 'forbidden');
  }

  // Without a bearer token.
  assert.equal((await tg.get('/auth/identities')).status, 401);
  assert.equal((await tg.post('/auth/identities/idp/link')).status, 401);
  assert.equal((await tg.del('/auth/identities/idp')).status, 401);
});
