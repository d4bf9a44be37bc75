import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASE } from '../harness/server-url.mjs';

test('GET /health answers 200 JSON', async () => {
  const res = await fetch(`${BASE}/health`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const body = await res.json();
  assert.equal(body.status, 'ok');
});

test('an unknown route answers 404 with a JSON error code', async () => {
  const res = await fetch(`${BASE}/no/such/route`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.code, 'not_found');
  assert.equal(typeof body.detail, 'string');
});
