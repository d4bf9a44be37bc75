import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client } from '../harness/api.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);

test('GET /health answers 200 JSON', async () => {
  const res = await api.get('/health');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.equal(res.json.status, 'ok');
  assert.match(res.json.version, /^\d+\.\d+\.\d+$/);
});

test('an unknown route answers 404 with a JSON error code', async () => {
  const res = await api.get('/no/such/route');
  assert.equal(res.status, 404);
  assert.equal(res.json.code, 'not_found');
  assert.equal(typeof res.json.detail, 'string');
});
