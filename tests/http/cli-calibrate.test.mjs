// `tollgate calibrate` against real workerd: the CLI starts `wrangler dev` itself with the
// calibration endpoint enabled, times argon2id through it, and leaves nothing running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BASE } from '../harness/server-url.mjs';
import { tollgate } from '../cli/cli.mjs';
import { startWorker } from '../harness/worker.mjs';

/** Processes whose command line mentions the CLI's temporary wrangler directory. */
function leftoverServers() {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes('tollgate-calibrate-'));
}

test('calibrate starts wrangler dev, measures every OWASP row in workerd, and stops it', () => {
  const run = tollgate(['calibrate', '--budget-ms', '50', '--samples', '3']);
  console.log(run.stdout);
  // 0 when a row fits 50 ms in workerd, 1 when none does: both are measurements.
  assert.ok([0, 1].includes(run.code), `exit ${run.code}: ${run.stderr}`);
  assert.doesNotMatch(run.stderr, /^note:/m, 'no fallback to native timings');
  const rows = run.stdout.split('\n').filter((l) => l.startsWith('m='));
  assert.equal(rows.length, 5, run.stdout);
  for (const row of rows) {
    const [, native, workerd] = /(\d+\.\d) ms +(\d+\.\d) ms/.exec(row) ?? [];
    assert.ok(Number(native) > 0 && Number(workerd) > 0, `both runtimes measured: ${row}`);
  }
  assert.match(run.stdout, /no OWASP row fits the 10 ms CPU limit of the Workers Free plan/);
  if (run.code === 0) assert.match(run.stdout, /recommended: m=\d+ t=\d p=1 \(workerd [\d.]+ ms <= 50 ms/);
  else assert.match(run.stderr, /error\[calibration_failed\]: no OWASP row fits 50 ms \(workerd\)/);
  assert.deepEqual(leftoverServers(), [], 'the wrangler dev the CLI started is gone');
});

test('calibrate --url says so when the Worker does not serve the calibration endpoint', () => {
  // The shared server runs with TOLLGATE_CALIBRATION off, as production must.
  const run = tollgate(['calibrate', '--url', BASE, '--samples', '1']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /answered 404 to POST \/__tollgate\/calibrate: calibration is not enabled/);
  assert.match(run.stderr, /hint: start it with `--var TOLLGATE_CALIBRATION:enabled`/);
});

test('the calibration endpoint caps its parameters below the isolate\'s 128 MB', async () => {
  const server = await startWorker({ vars: { TOLLGATE_CALIBRATION: 'enabled' } });
  try {
    const calibrate = async (body) => {
      const res = await fetch(`${server.url}/__tollgate/calibrate`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    };
    const row = { memory_kib: 19456, iterations: 2, parallelism: 1, count: 1 };
    assert.deepEqual(await calibrate(row), { status: 200, json: { count: 1 } });
    // The largest OWASP row, and the cap itself, are measured (count 0 costs no hashing).
    assert.equal((await calibrate({ ...row, memory_kib: 47104, iterations: 1 })).status, 200);
    assert.equal((await calibrate({ ...row, memory_kib: 65536, count: 0 })).status, 200);
    for (const [field, over] of [['memory_kib', 65537], ['memory_kib', 262144], ['iterations', 11], ['parallelism', 17], ['count', 21]]) {
      const res = await calibrate({ ...row, count: 0, [field]: over });
      assert.equal(res.status, 422, `${field}=${over}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.code, 'validation_error');
      assert.deepEqual(res.json.errors.map((e) => [e.field, e.code]), [[field, 'invalid_value']], `${field}=${over}`);
    }
  } finally {
    await server.dispose();
  }
});
