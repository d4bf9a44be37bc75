// Times `tollgate import` (release build) on 100,000 generated lines; the target is < 10 s.
//
//   node bench/cli/import-100k.mjs [--lines N] [--runs N]
//
// Writes the result as JSON to bench/cli/import-100k.result.json (for the benchmarks document)
// and prints it. The lines mix the hash formats real exports hold (bcrypt from pyca/bcrypt and
// passlib, argon2id/argon2i from passlib/argon2-cffi, taken from the CLI's fixture), with a
// few rejects so the reporting path is timed too. Nothing is hashed during an import, so the
// figure is parsing, checking and writing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const LINES = arg('--lines', 100_000);
const RUNS = arg('--runs', 3);
const REJECT_EVERY = 1000; // one malformed line per thousand

const build = spawnSync('cargo', ['build', '--release', '-p', 'tollgate-cli'], { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const bin = join(ROOT, 'target/release/tollgate');

const hashes = readFileSync(join(ROOT, 'crates/cli/tests/fixtures/legacy_users.jsonl'), 'utf8')
  .trim().split('\n').map((l) => JSON.parse(l).password_hash);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-import-'));
try {
  const input = join(dir, 'users.jsonl');
  const lines = [];
  for (let i = 0; i < LINES; i++) {
    if (i % REJECT_EVERY === REJECT_EVERY - 1) {
      lines.push(JSON.stringify({ email: `broken${i}`, password_hash: hashes[i % hashes.length] }));
    } else {
      lines.push(JSON.stringify({
        id: i, email: `user${i}@example.com`, password_hash: hashes[i % hashes.length],
        role: i % 500 === 0 ? 'admin' : 'user', is_active: true,
      }));
    }
  }
  writeFileSync(input, lines.join('\n') + '\n');
  const out = join(dir, 'bulk.json');
  const seconds = [];
  let stderr = '';
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(bin, ['import', input, '--out', out], { encoding: 'utf8' });
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    if (r.status !== 0) { console.error(r.stderr.slice(-2000)); process.exit(1); }
    stderr = r.stderr;
  }
  seconds.sort((a, b) => a - b);
  const imported = Number(/(\d+) users to import/.exec(stderr)?.[1]);
  const rejected = Number(/(\d+) lines rejected/.exec(stderr)?.[1]);
  const result = {
    benchmark: 'tollgate import, release build',
    lines: LINES,
    imported,
    rejected,
    runs: RUNS,
    median_seconds: Number(seconds[Math.floor(RUNS / 2)].toFixed(3)),
    min_seconds: Number(seconds[0].toFixed(3)),
    max_seconds: Number(seconds[RUNS - 1].toFixed(3)),
    lines_per_second: Math.round(LINES / seconds[Math.floor(RUNS / 2)]),
    input_bytes: statSync(input).size,
    output_bytes: statSync(out).size,
    target_seconds: 10,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
    date: new Date().toISOString(),
  };
  writeFileSync(join(ROOT, 'bench/cli/import-100k.result.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  if (result.median_seconds >= result.target_seconds) { console.error('slower than the 10 s target'); process.exit(1); }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
