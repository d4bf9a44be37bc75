// Signing in with an identity provider (issue 15), end to end: a real OpenID Provider
// (panva's oidc-provider, tests/harness/oidc-provider.mjs) on loopback, a Tollgate
// `wrangler dev` configured with it three ways (OpenID Connect `idp`, the same provider as
// plain OAuth2 with userinfo `plain`, and `rogue`, which signs ID tokens with a key it does
// not publish), and Chromium driving Tollgate's start, the provider's own login and consent
// pages, the callback, then the demo page's resume() and GET /me.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { launchBrowser } from '../harness/browser.mjs';
import { kvGetJson, markEmailVerified } from '../harness/kv.mjs';
import { startOidcProvider } from '../harness/oidc-provider.mjs';
import { freePort, startWorker } from '../harness/worker.mjs';
import { PASSWORD } from './client-helpers.mjs';

const CLIENT_ID = 'tollgate-e2e';
const CLIENT_SECRET = randomBytes(24).toString('base64url');

let browser;
let server;
let idp;
let rogue;

before(async () => {
  const [port, idpPort, roguePort] = [await freePort(), await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const callback = (name) => `${url}/auth/oauth/${name}/callback`;
  idp = await startOidcProvider({
    port: idpPort, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
    redirectUris: [callback('idp'), callback('plain'), callback('nosecret')],
  });
  rogue = await startOidcProvider({
    port: roguePort, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [callback('rogue')], rogue: true,
  });
  const providers = {
    idp: { issuer: idp.issuer, client_id: CLIENT_ID, scopes: 'openid email' },
    plain: {
      authorization_endpoint: `${idp.issuer}/auth`, token_endpoint: `${idp.issuer}/token`,
      userinfo_endpoint: `${idp.issuer}/me`, client_id: CLIENT_ID, scopes: 'openid email',
    },
    rogue: { issuer: rogue.issuer, client_id: CLIENT_ID, scopes: 'openid email' },
    nosecret: { issuer: idp.issuer, client_id: CLIENT_ID },
  };
  server = await startWorker({
    port,
    vars: { OAUTH_PROVIDERS: JSON.stringify(providers), APP_URL: `${url}/` },
    secrets: {
      OAUTH_IDP_CLIENT_SECRET: CLIENT_SECRET,
      OAUTH_PLAIN_CLIENT_SECRET: CLIENT_SECRET,
      OAUTH_ROGUE_CLIENT_SECRET: CLIENT_SECRET,
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await idp?.close();
  await rogue?.close();
});

const fresh = (prefix) => `${prefix}-${randomBytes(5).toString('hex')}@example.com`;

/**
 * Starts a sign-in at Tollgate in a fresh browser context and goes through the provider's
 * login and consent pages as `login`; resolves with the page once it is back on the app (the
 * demo page), and the URL it landed on.
 */
async function signIn(provider, login, { consent = true, startUrl, context, beforeCallback, viaDemo = false } = {}) {
  const ctx = context ?? await browser.newContext();
  const page = await ctx.newPage();
  if (beforeCallback) await beforeCallback(page);
  const redirectTo = `${server.url}/`;
  if (viaDemo) {
    // The demo page's "Sign in with ..." button (signInWith in @tollgate/client).
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.click(`[data-testid="sign-in-with-${provider}"]`);
  } else {
    await page.goto(startUrl ?? `${server.url}/auth/oauth/${provider}/start?redirect_to=${encodeURIComponent(redirectTo)}`);
  }
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password: the dev login takes any');
  await page.click('button[type="submit"]');
  await page.waitForSelector('button:has-text("Continue")');
  if (consent) {
    await page.click('button:has-text("Continue")');
  } else {
    await page.click('text=[ Cancel ]');
  }
  await page.waitForURL((u) => u.origin === server.url && !u.pathname.startsWith('/auth/'));
  await page.waitForSelector('body[data-ready="true"]');
  return { page, context: ctx, landed: page.url() };
}

/** The access token of the session the browser context holds (a refresh with its cookie). */
async function accessToken(context) {
  const res = await context.request.post(`${server.url}/auth/refresh`, { headers: { Origin: server.url } });
  const text = await res.text();
  assert.equal(res.status(), 200, text);
  return JSON.parse(text).access_token;
}

async function api(method, path, token, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The demo page resumed a session, and GET /me through it answers with `email`. */
async function assertSignedInAs(page, email) {
  await page.waitForSelector('#status[data-state="signed-in"]');
  await page.click('#call-me');
  await page.waitForFunction(() => document.querySelector('#me').textContent.startsWith('200'));
  assert.match(await page.textContent('#me'), new RegExp(email.replace(/[.+]/g, '\\$&'), 'i'));
}

async function registerPasswordAccount(email) {
  const res = await fetch(`${server.url}/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text).id;
}

async function passwordLogin(email) {
  const res = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: server.url },
    body: new URLSearchParams({ username: email, password: PASSWORD, client_type: 'native' }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text).access_token;
}

describe('signing in with an OpenID Provider', () => {
  let first;

  test('a first sign-in creates an account; the second finds the same one', async () => {
    const login = fresh('alice');
    const one = await signIn('idp', login, { viaDemo: true });
    assert.equal(one.landed, `${server.url}/`);
    await assertSignedInAs(one.page, login);
    const token = await accessToken(one.context);
    const me = await api('GET', '/me', token);
    assert.equal(me.status, 200);
    const listed = await api('GET', '/auth/identities', token);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.identities.map((i) => [i.provider, i.subject]), [['idp', login]]);
    assert.equal(kvGetJson(server, 'USERS', `user:${me.body.id}`).identities[0].subject, login);
    // The account has no password: a password login fails like a wrong one.
    const res = await fetch(`${server.url}/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: server.url },
      body: new URLSearchParams({ username: login, password: PASSWORD }),
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, 'invalid_credentials');
    await one.context.close();

    const two = await signIn('idp', login);
    await assertSignedInAs(two.page, login);
    const again = await api('GET', '/me', await accessToken(two.context));
    assert.equal(again.body.id, me.body.id);
    first = { login, token: await accessToken(two.context) };
    await two.context.close();
    // A security event, as a password login logs one (members in any order).
    await server.waitForLog(/^(?=.*"event":"identity_sign_in")(?=.*"created":false)(?=.*"provider":"idp").*$/m);
  });

  test('the only identity of a provider-made account cannot be unlinked: 409 last_login_method', async () => {
    const res = await api('DELETE', '/auth/identities/idp', first.token);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'last_login_method');
  });

  test('a verified email links to the verified local account of that address', async () => {
    const email = fresh('jane');
    const id = await registerPasswordAccount(email);
    markEmailVerified(server, id);
    const { page, context } = await signIn('idp', email);
    await assertSignedInAs(page, email);
    const me = await api('GET', '/me', await accessToken(context));
    assert.equal(me.body.id, id);
    assert.equal(kvGetJson(server, 'USERS', `user:${id}`).identities[0].provider, 'idp');
    await context.close();
  });

  test('an unverified email at the provider is refused with account_exists', async () => {
    const email = fresh('unverified-sam');
    const id = await registerPasswordAccount(email);
    markEmailVerified(server, id);
    const { page, landed, context } = await signIn('idp', email);
    assert.equal(landed, `${server.url}/#error=account_exists`);
    assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
    assert.equal(kvGetJson(server, 'USERS', `user:${id}`).identities, undefined);
    await context.close();
  });

  test('a password account links a provider from its session, signs in with it, and unlinks it', async () => {
    const email = fresh('pat');
    await registerPasswordAccount(email);
    const token = await passwordLogin(email);
    const linkRes = await api('POST', '/auth/identities/idp/link', token);
    assert.equal(linkRes.status, 200);
    const providerLogin = `pat-at-idp-${randomBytes(4).toString('hex')}`;
    const linked = await signIn('idp', providerLogin, { startUrl: linkRes.body.url });
    assert.equal(linked.landed, `${server.url}/#linked=idp`);
    await linked.context.close();
    // The ticket was single-use.
    const reused = await fetch(linkRes.body.url, { redirect: 'manual' });
    assert.equal(reused.status, 400);
    const listed = await api('GET', '/auth/identities', token);
    assert.deepEqual(listed.body.identities.map((i) => i.provider), ['idp']);

    // The provider's identity now signs in to the password account.
    const { page, context } = await signIn('idp', providerLogin);
    await assertSignedInAs(page, email);
    await context.close();

    const removed = await api('DELETE', '/auth/identities/idp', token);
    assert.equal(removed.status, 204);
    assert.deepEqual((await api('GET', '/auth/identities', token)).body.identities, []);
    assert.equal((await api('DELETE', '/auth/identities/idp', token)).status, 404);
  });

  test('a link started from a session that is ended before it comes back links nothing, and an ended session cannot start one', async () => {
    // A stolen access token must not become a lasting way in: once the owner signs every
    // session out (logout-all, a password change, an admin), a link it started is void.
    const email = fresh('lea');
    const id = await registerPasswordAccount(email);
    const token = await passwordLogin(email);
    const linkRes = await api('POST', '/auth/identities/idp/link', token);
    assert.equal(linkRes.status, 200);
    // Sessions end at a whole second: one later than the token's, so it is among those ended.
    await new Promise((ok) => setTimeout(ok, 1_100));
    assert.equal((await api('POST', '/auth/logout-all', token)).status, 204);
    const attempt = await signIn('idp', `lea-at-idp-${randomBytes(4).toString('hex')}`, { startUrl: linkRes.body.url });
    assert.equal(attempt.landed, `${server.url}/#error=invalid_token`);
    await attempt.context.close();
    assert.equal(kvGetJson(server, 'USERS', `user:${id}`).identities, undefined, 'nothing linked');
    const again = await api('POST', '/auth/identities/idp/link', token);
    assert.equal(again.status, 401, JSON.stringify(again.body));
    assert.equal(again.body.code, 'invalid_token');
  });

  test('a plain OAuth2 provider signs in through userinfo', async () => {
    const login = fresh('olive');
    const { page, context } = await signIn('plain', login);
    await assertSignedInAs(page, login);
    const listed = await api('GET', '/auth/identities', await accessToken(context));
    assert.deepEqual(listed.body.identities.map((i) => i.provider), ['plain']);
    await context.close();
  });
});

describe('refused sign-ins come back to the app with #error and start no session', () => {
  test('denied consent', async () => {
    const { page, landed, context } = await signIn('idp', fresh('denier'), { consent: false });
    assert.equal(landed, `${server.url}/#error=access_denied`);
    assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
    assert.match(await page.textContent('#error'), /access_denied/);
    await context.close();
  });

  test('a replayed state (the callback URL opened a second time)', async () => {
    let callbackUrl;
    const { page, context } = await signIn('idp', fresh('replay'), {
      beforeCallback: async (p) => p.on('request', (r) => {
        if (r.url().includes('/auth/oauth/idp/callback')) callbackUrl = r.url();
      }),
    });
    await page.waitForSelector('#status[data-state="signed-in"]');
    assert.ok(callbackUrl);
    // Same browser, same URL: the state was spent (its cookie cleared, its record gone).
    const replay = await context.newPage();
    await replay.goto(callbackUrl);
    assert.equal(replay.url(), `${server.url}/#error=invalid_state`);
    // Even with the cookie put back, the pending sign-in is gone.
    const state = new URL(callbackUrl).searchParams.get('state');
    await context.addCookies([{ name: 'tollgate_oauth_state', value: state, url: `${server.url}/auth/oauth/` }]);
    const again = await context.newPage();
    await again.goto(callbackUrl);
    assert.equal(again.url(), `${server.url}/#error=invalid_state`);
    await context.close();
  });

  test('an ID token signed with a key the provider does not publish', async () => {
    const { page, landed, context } = await signIn('rogue', fresh('forged'));
    assert.equal(landed, `${server.url}/#error=provider_error`);
    assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
    await server.waitForLog(/identity_sign_in_failed.*ID token refused: bad signature/);
    await context.close();
  });

  test('a response naming another issuer (mix-up, RFC 9207)', async () => {
    const { page, landed, context } = await signIn('idp', fresh('mixup'), {
      // The provider's redirect back names the other provider as its issuer: what a client
      // that sent its request to one provider sees when the response comes from another.
      beforeCallback: () => idp.rewriteCallback((url) => {
        url.searchParams.set('iss', rogue.issuer);
        return url;
      }),
    });
    idp.rewriteCallback(null);
    assert.equal(landed, `${server.url}/#error=invalid_state`);
    assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
    await context.close();
  });

  test('a redirect_to on another origin is refused at the start: 422, no redirect', async () => {
    for (const target of ['https://evil.example/', `${server.url}.evil.example/`, `https://evil.example\\@127.0.0.1/`, '//evil.example/']) {
      const res = await fetch(`${server.url}/auth/oauth/idp/start?redirect_to=${encodeURIComponent(target)}`, { redirect: 'manual' });
      assert.equal(res.status, 422, target);
      const body = await res.json();
      assert.equal(body.errors[0].field, 'redirect_to');
      assert.equal(res.headers.get('Location'), null);
    }
  });

  test('a provider without its client secret is 503 misconfigured, with one log line', async () => {
    const res = await fetch(`${server.url}/auth/oauth/nosecret/start`, { redirect: 'manual' });
    assert.equal(res.status, 503);
    assert.equal((await res.json()).code, 'misconfigured');
    await server.waitForLog(/OAUTH_NOSECRET_CLIENT_SECRET is not set/);
    assert.equal((await fetch(`${server.url}/auth/oauth/nobody/start`)).status, 404);
  });
});
