// `tollgate import` of 100,000 generated lines, release build. The CLI comes from its own
// branch, with its own timing script (bench/cli/import-100k.mjs, which knows the input
// format and generates the lines); this section runs that script when the CLI has an
// `import` command, and reports the figure pending otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../tests/harness/worker.mjs';

export function importSection(log) {
  const script = join(ROOT, 'bench/cli/import-100k.mjs');
  const hasImport = existsSync(join(ROOT, 'crates/cli/src/import.rs'));
  if (!hasImport || !existsSync(script)) {
    const reason = !hasImport
      ? 'crates/cli has no `import` command on this branch yet (the CLI lands from its own branch)'
      : 'bench/cli/import-100k.mjs is missing';
    log(`tollgate import: pending: ${reason}`);
    return { skipped: true, reason };
  }
  log('tollgate import of 100,000 lines (release build; bench/cli/import-100k.mjs)');
  const started = Date.now();
  const r = spawnSync(process.execPath, [script, '--lines', '100000', '--runs', '3'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const resultFile = join(ROOT, 'bench/cli/import-100k.result.json');
  if (!existsSync(resultFile)) throw new Error(`bench/cli/import-100k.mjs wrote no result (exit ${r.status})`);
  const result = JSON.parse(readFileSync(resultFile, 'utf8'));
  if (Date.parse(result.date) < started - 1000) throw new Error(`bench/cli/import-100k.mjs failed (exit ${r.status}) and left only an old result`);
  log(`  median ${result.median_seconds} s`);
  return { skipped: false, ...result };
}
