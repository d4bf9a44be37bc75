// Configurable roles and scopes (README "Roles and scopes"): the login form's `scope` narrows
// a session to the intersection with its role's scopes for the session's whole life; a
// `ROLES` table's roles can be given by an admin and show up in /openapi.json; a table that
// would lock admins out answers 503 misconfigured everywhere, with one log line.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, client, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';
import { startWorker } from '../harness/worker.mjs';

const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const login = (api, username, scope, headers = fromAnywhere()) =>
  api.post('/auth/login', { form: scope === undefined ? { username, password: PASSWORD } : { username, password: PASSWORD, scope }, headers });
const flowScopes = (doc) => doc.components.securitySchemes.OAuth2PasswordBearer.flows.password.scopes;

describe('scope narrowing on the default table', () => {
  const api = client(BASE);
  let admin;
  before(async () => {
    admin = await signUp(api, { tag: 'scoped-admin' });
    promoteToAdmin({ persistDir: process.env.TOLLGATE_PERSIST_DIR }, admin.id);
  });

  test('without scope, or with a blank one, the token has every scope of the role, and says so', async () => {
    for (const scope of [undefined, '', '  ']) {
      const res = await login(api, admin.email, scope);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.scope, 'profile sessions users:read users:write');
      assert.equal(claims(res.json.access_token).scope, res.json.scope);
    }
  });

  test('a requested scope narrows the token to what the role grants, and every refresh keeps it', async () => {
    const res = await login(api, admin.email, 'users:read profile billing');
    assert.equal(res.status, 200, res.text);
    // RFC 6749 §5.1: the granted scope differs from the request, and the response says so.
    assert.equal(res.json.scope, 'profile users:read');
    assert.equal(claims(res.json.access_token).scope, 'profile users:read');
    // The narrowed admin token lists users but cannot change a role.
    assert.equal((await api.get('/admin/users', { token: res.json.access_token })).status, 200);
    const put = await api.put(`/admin/users/${admin.id}/role`, { token: res.json.access_token, json: { role: 'admin' } });
    assert.equal(put.status, 403);
    let cookie = res.cookie.pair;
    for (let i = 0; i < 2; i++) {
      const refreshed = await api.post('/auth/refresh', { cookie });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal(refreshed.json.scope, 'profile users:read');
      assert.equal(claims(refreshed.json.access_token).scope, 'profile users:read');
      cookie = refreshed.cookie.pair;
    }
  });

  test('asking only for scopes the role lacks signs in with no scope at all', async () => {
    const user = await signUp(api, { tag: 'scoped-user' });
    const res = await login(api, user.email, 'users:write');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.scope, '');
    const token = res.json.access_token;
    // Signed in, but every route that needs a scope refuses: 403, not 401.
    for (const [method, path] of [['GET', '/me'], ['GET', '/auth/sessions'], ['DELETE', `/auth/sessions/${claims(token).sid}`]]) {
      const refused = await api.call(method, path, { token });
      assert.equal(refused.status, 403, `${method} ${path}: ${refused.text}`);
      assert.equal(refused.json.code, 'forbidden');
    }
    assert.equal((await api.get('/auth/claims', { token })).status, 200);
    const refreshed = await api.post('/auth/refresh', { cookie: res.cookie.pair });
    assert.equal(refreshed.json.scope, '');
  });

  test('a scope that is not scope-tokens is 422 for field scope, before any password is judged', async () => {
    const user = await signUp(api, { tag: 'scoped-bad' });
    for (const scope of ['profile "x"', 'a\\b', 'caf\u00e9']) {
      const res = await api.post('/auth/login', { form: { username: user.email, password: 'wrong', scope }, headers: fromAnywhere() });
      assert.equal(res.status, 422, `${scope}: ${res.text}`);
      assert.deepEqual(res.json.errors.map((e) => [e.field, e.code]), [['scope', 'invalid_value']]);
    }
  });
});

describe('a configured ROLES table', () => {
  const ROLES = {
    user: ['profile', 'sessions'],
    editor: ['profile', 'notes:write'],
    admin: ['profile', 'sessions', 'users:read', 'users:write'],
  };
  let server;
  let api;
  before(async () => { server = await startWorker({ vars: { ROLES: JSON.stringify(ROLES) } }); api = client(server.url); });
  after(async () => { await server?.dispose(); });

  test('an admin gives a configured role, which grants its scopes; an unknown role is 422 invalid_role', async () => {
    const boss = await signUp(api, { tag: 'roles-admin' });
    promoteToAdmin(server, boss.id);
    const admin = await logIn(api, boss.email);
    const sam = await signUp(api, { tag: 'roles-editor' });
    const given = await api.put(`/admin/users/${sam.id}/role`, { token: admin.token, json: { role: 'editor' } });
    assert.equal(given.status, 200, given.text);
    assert.equal(given.json.role, 'editor');
    const unknown = await api.put(`/admin/users/${sam.id}/role`, { token: admin.token, json: { role: 'root' } });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.json.errors.map((e) => [e.field, e.code]), [['role', 'invalid_role']]);
    const editor = await login(api, sam.email);
    assert.equal(editor.json.scope, 'profile notes:write');
    assert.equal(claims(editor.json.access_token).role, 'editor');
    const listed = await api.get('/admin/users', { token: admin.token });
    assert.equal(listed.json.users.find((u) => u.id === sam.id).role, 'editor');
  });

  test('/openapi.json lists every scope of the table in the password flow, with the roles that grant it', async () => {
    const res = await api.get('/openapi.json');
    assert.equal(res.status, 200);
    const scopes = flowScopes(res.json);
    assert.deepEqual(Object.keys(scopes).sort(), ['notes:write', 'profile', 'sessions', 'users:read', 'users:write']);
    assert.equal(scopes['notes:write'], 'Granted to: editor.');
    assert.equal(scopes.profile, 'Read your profile. Granted to: user, editor, admin.');
  });
});

describe('a ROLES table that would lock admins out', () => {
  let server;
  before(async () => {
    server = await startWorker({ vars: { ROLES: JSON.stringify({ user: ['profile'], admin: ['profile', 'users:read'] }) } });
  });
  after(async () => { await server?.dispose(); });

  test('makes every route, /openapi.json too, answer 503 misconfigured, naming ROLES once in the log', async () => {
    const api = client(server.url);
    for (const [method, path] of [['GET', '/health'], ['GET', '/openapi.json'], ['POST', '/auth/login'], ['GET', '/admin/users']]) {
      const res = await api.call(method, path);
      assert.equal(res.status, 503, `${method} ${path}`);
      assert.equal(res.json.code, 'misconfigured');
    }
    const line = /"detail":"misconfigured: ROLES must give \\"admin\\" the scopes users:read and users:write[^"]*missing: users:write\)","event":"misconfigured"/;
    await server.waitForLog(line);
    assert.equal(server.log.match(new RegExp(line.source, 'g')).length, 1);
  });
});
