// The OpenAPI document is a contract, checked both ways. It runs last in the HTTP layer
// (tests/run.mjs runs files one at a time, in name order) and reads every response the other
// HTTP tests observed (tests/harness/api.mjs records them):
// - the document validates as OpenAPI 3.1;
// - every documented response of every operation was actually produced by the server;
// - every response the server produced for a documented operation is documented.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { client } from '../harness/api.mjs';
import { BASE } from '../harness/server-url.mjs';
import { ROOT } from '../harness/worker.mjs';

const spec = JSON.parse(readFileSync(join(ROOT, 'worker/openapi.json'), 'utf8'));
const operations = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({
  key: `${method.toUpperCase()} ${path}`,
  method: method.toUpperCase(),
  pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  statuses: Object.keys(op.responses),
})));

function observed() {
  const file = process.env.TOLLGATE_OBSERVATIONS;
  assert.ok(file && existsSync(file), 'run through tests/run.mjs, which collects observations');
  const seen = new Map(operations.map((o) => [o.key, new Set()]));
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const { method, path, status } = JSON.parse(line);
    const op = operations.find((o) => o.method === method && o.pattern.test(path));
    if (op) seen.get(op.key).add(String(status));
  }
  return seen;
}

test('the document is valid OpenAPI 3.1 and is what the server serves', async () => {
  const result = await new Validator().validate(structuredClone(spec));
  assert.deepEqual(result, { valid: true });
  const served = await client(BASE).get('/openapi.json');
  assert.equal(served.status, 200);
  assert.deepEqual(served.json, spec);
});

test('every documented response was produced by the server during this run', () => {
  const seen = observed();
  const missing = operations.flatMap((o) => o.statuses.filter((s) => !seen.get(o.key).has(s)).map((s) => `${o.key} ${s}`));
  assert.deepEqual(missing, [], 'documented but never observed');
});

test('every response the server produced for a documented operation is documented', () => {
  const seen = observed();
  const extra = operations.flatMap((o) => [...seen.get(o.key)].filter((s) => !o.statuses.includes(s)).map((s) => `${o.key} ${s}`));
  assert.deepEqual(extra, [], 'observed but not documented');
});
