// A real OpenID Provider for the end-to-end tests: panva's `oidc-provider` (a certified
// implementation, pinned in package.json) on loopback, with its own development login and
// consent pages, which Playwright drives like a user.
//
// Accounts: any login works (the dev login page takes any password). The login is the
// account's `sub`; its email is the login itself when it contains an `@` (else
// `<login>@idp.example`), verified unless the login starts with `unverified`.
//
// GitHub's API in its own shape, over this provider's access tokens, for the `github` preset's
// way of reading who signed in (api.github.com cannot be reached from a test): `GET
// /github/user` answers like GitHub's `/user` for an account that keeps its address private
// (a numeric `id`, `email: null`), and `GET /github/user/emails` like its `/user/emails`: an
// older verified address that is not primary, then the account's email as the primary one,
// verified unless the login starts with `unverified`.
//
// `rewriteCallback(fn)` changes the provider's redirects back to the relying party (a
// response that names another issuer, for the mix-up test).
//
// `rogue: true` starts a provider that signs its ID tokens with a key it does not publish:
// its JWKS lists another RSA key under the same `kid`, so every ID token it issues has a
// signature that does not verify with the published key (what a tampered or forged token
// looks like to a relying party).
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

/** The email of the account whose login is `login`. */
function emailOf(login) {
  return login.includes('@') ? login : `${login}@idp.example`;
}

function publicPart({ kty, n, e, kid, alg, use }) {
  return { kty, n, e, kid, alg, use };
}

/**
 * Starts a provider at `http://127.0.0.1:<port>` (the issuer), with one confidential client
 * (`clientId`/`clientSecret`, `client_secret_post`) whose redirect URIs are `redirectUris`.
 * @returns {Promise<{issuer: string, close: () => Promise<void>}>}
 */
export async function startOidcProvider({ port, clientId, clientSecret, redirectUris, rogue = false }) {
  const issuer = `http://127.0.0.1:${port}`;
  const signing = rsaJwk('k1');
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys: [signing] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'email'],
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: emailOf(id), email_verified: !id.startsWith('unverified') };
        },
      };
    },
    // Short-lived everything: a test run never needs more.
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  });
  if (rogue) {
    const published = publicPart(rsaJwk('k1'));
    provider.use(async (ctx, next) => {
      if (ctx.path === '/jwks') {
        ctx.type = 'application/json';
        ctx.body = { keys: [published] };
        return;
      }
      await next();
    });
  }
  const githubIds = new Map();
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !ctx.path.startsWith('/github/')) return next();
    const value = /^Bearer (\S+)$/.exec(ctx.get('Authorization'))?.[1];
    const token = value ? await provider.AccessToken.find(value) : undefined;
    ctx.type = 'application/json';
    if (!token) {
      ctx.status = 401;
      ctx.body = { message: 'Bad credentials' };
      return;
    }
    const login = token.accountId;
    if (!githubIds.has(login)) githubIds.set(login, 1000 + githubIds.size);
    if (ctx.path === '/github/user') {
      ctx.body = { id: githubIds.get(login), login, email: null };
    } else if (ctx.path === '/github/user/emails') {
      ctx.body = [
        { email: `earlier-${githubIds.get(login)}@idp.example`, verified: true, primary: false, visibility: null },
        { email: emailOf(login), verified: !login.startsWith('unverified'), primary: true, visibility: 'private' },
      ];
    } else {
      ctx.status = 404;
      ctx.body = { message: 'Not Found' };
    }
  });
  // A test's hook on the redirects back to the relying party (see `rewriteCallback`).
  let rewrite = null;
  provider.use(async (ctx, next) => {
    await next();
    const location = ctx.response.get('Location');
    const target = location ? new URL(location, issuer) : null;
    if (rewrite && target?.pathname.endsWith('/callback')) {
      ctx.set('Location', rewrite(target).toString());
    }
  });
  const server = await new Promise((ok) => {
    const s = provider.listen(port, '127.0.0.1', () => ok(s));
  });
  return {
    issuer,
    /** Rewrites the provider's redirects to a callback with `fn(url) -> url`; `null` stops. */
    rewriteCallback: (fn) => { rewrite = fn; },
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}
