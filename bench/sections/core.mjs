// tollgate-core natively, with criterion (bench/core): password hash and verify, access-token
// issue and verify (HS256 and EdDSA), refresh rotation. The figures criterion prints are read
// back from its estimates (target/bench-core/criterion/<group>/<name>/new/estimates.json).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../tests/harness/worker.mjs';

const TARGET = join(ROOT, 'target/bench-core');
const BENCHES = [
  ['password/hash', 'argon2id hash at m=19456 KiB, t=2, p=1'],
  ['password/verify', 'argon2id verify, same cost'],
  ['token/issue_hs256', 'sign an access token, HS256'],
  ['token/verify_hs256', 'verify an access token strictly, HS256'],
  ['token/issue_eddsa', 'sign an access token, EdDSA'],
  ['token/verify_eddsa', 'verify an access token strictly, EdDSA'],
  ['refresh/rotate', 'read a refresh token and decide its rotation'],
];

export function coreSection(plan, log) {
  log('tollgate-core natively (criterion, bench/core)');
  const seconds = String(plan.coreMeasureSeconds);
  const r = spawnSync('cargo', ['bench', '--locked', '--bench', 'core', '--', '--warm-up-time', '1', '--measurement-time', seconds], {
    cwd: join(ROOT, 'bench/core'), encoding: 'utf8', env: { ...process.env, CARGO_TARGET_DIR: TARGET }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`cargo bench in bench/core failed (exit ${r.status})`);
  return BENCHES.map(([id, what]) => {
    const file = join(TARGET, 'criterion', id, 'new/estimates.json');
    if (!existsSync(file)) throw new Error(`criterion wrote no estimates for ${id}`);
    const e = JSON.parse(readFileSync(file, 'utf8'));
    const row = { id, what, median_ns: e.median.point_estimate, low_ns: e.median.confidence_interval.lower_bound, high_ns: e.median.confidence_interval.upper_bound };
    log(`  ${id}: ${(row.median_ns / 1000).toFixed(1)} µs`);
    return row;
  });
}
