// The library use end to end: examples/guarded-worker, another workers-rs app guarding its
// routes with `tollgate_worker::authenticate`, built with worker-build and run under its own
// `wrangler dev` beside a Tollgate that shares its JWT_SECRET. Tokens come from Tollgate's
// real login; the example never calls Tollgate or touches storage.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { promoteToAdmin } from '../harness/kv.mjs';
import { buildWorkerCrate, startWorker } from '../harness/worker.mjs';

let tollgate;
let guarded;
let api;
let app;
before(async () => {
  buildWorkerCrate('examples/guarded-worker');
  tollgate = await startWorker({});
  guarded = await startWorker({
    config: 'examples/guarded-worker/wrangler.toml',
    readyPath: '/public',
    secrets: { JWT_SECRET: tollgate.secrets.JWT_SECRET },
  });
  api = client(tollgate.url);
  app = client(guarded.url);
});
after(async () => { await guarded?.dispose(); await tollgate?.dispose(); });

test('open routes need no token', async () => {
  const res = await app.get('/public');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { hello: 'anyone' });
});

test('a guarded route answers 401 without a valid token, with Tollgate\'s error body', async () => {
  const none = await app.get('/notes');
  assert.equal(none.status, 401);
  assert.equal(none.json.code, 'not_authenticated');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  const garbage = await app.get('/notes', { token: 'a.b.c' });
  assert.equal(garbage.status, 401);
  assert.equal(garbage.json.code, 'invalid_token');
  assert.equal(garbage.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  // A token from a Tollgate with another secret is not this deployment's.
  const stranger = await startWorker({});
  try {
    const other = await signUp(client(stranger.url));
    const res = await app.get('/notes', { token: other.token });
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 'invalid_token');
  } finally {
    await stranger.dispose();
  }
});

test('a Tollgate access token opens the guarded route; the admin route needs the admin role', async () => {
  const user = await signUp(api);
  const notes = await app.get('/notes', { token: user.token });
  assert.equal(notes.status, 200, notes.text);
  assert.deepEqual(notes.json, { notes_of: user.id });
  const denied = await app.get('/admin/stats', { token: user.token });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.code, 'forbidden');

  promoteToAdmin(tollgate, user.id);
  const admin = await logIn(api, user.email); // a fresh token carries the new role
  const stats = await app.get('/admin/stats', { token: admin.token });
  assert.equal(stats.status, 200, stats.text);
  assert.deepEqual(stats.json, { requested_by: user.id });
});
