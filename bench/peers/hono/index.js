// The Hono peer: a JavaScript Worker doing the work of Tollgate's `GET /me` and
// `GET /auth/claims`, written the way Hono's documentation shows, on the same `wrangler dev`
// (workerd + local KV) as Tollgate.
//
// - Tokens: Hono's own `jwt` middleware (HS256 with the same JWT_SECRET), told to check what
//   Tollgate checks: `iss` and `aud` exactly, header `typ` `at+jwt`, and `exp`/`nbf`/`iat`
//   (Hono allows no clock leeway; Tollgate allows 30 s, which only matters near expiry).
// - `/me`: one KV get of `user:{sub}` in the `USERS` namespace (Tollgate's record format,
//   crates/core/src/store/records.rs) and the same JSON shape as Tollgate's answer.
// - `/auth/claims`: the verified claims, no storage access.
// bench/peers/equivalence.test.mjs checks that this Worker accepts and rejects the same tokens.
import { Hono } from 'hono';
import { jwt } from 'hono/jwt';

const SCOPES = { user: ['profile', 'sessions'], admin: ['profile', 'sessions', 'users:read', 'users:write'] };

const app = new Hono();

// The middleware is built per request because the secret lives in `env`; Hono's docs do the same.
app.use('/me', (c, next) => guard(c.env)(c, next));
app.use('/auth/claims', (c, next) => guard(c.env)(c, next));

function guard(env) {
  return jwt({
    secret: env.JWT_SECRET,
    alg: 'HS256',
    verification: { iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, typ: 'at+jwt' },
  });
}

const scopesOf = (payload) => (typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []);

app.get('/health', (c) => c.json({ status: 'ok' }));

app.get('/auth/claims', (c) => {
  const p = c.get('jwtPayload');
  return c.json({ sub: p.sub, sid: p.sid, role: p.role, scopes: scopesOf(p), exp: p.exp });
});

app.get('/me', async (c) => {
  const p = c.get('jwtPayload');
  if (!scopesOf(p).includes('profile')) return c.json({ detail: 'forbidden', code: 'forbidden' }, 403);
  const user = await c.env.USERS.get(`user:${p.sub}`, 'json');
  if (!user) return c.json({ detail: 'invalid token', code: 'invalid_token' }, 401);
  return c.json({
    id: user.id,
    email: user.email,
    role: user.role,
    scopes: SCOPES[user.role] ?? [],
    created_at: new Date(user.created_at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    email_verified: user.email_verified_at != null,
    // The enrolled second factors, as Tollgate's /me shows them (never a secret).
    mfa: { totp: user.mfa?.totp?.confirmed_at != null, recovery_codes: user.mfa?.recovery_codes?.length ?? 0 },
  });
});

export default app;
