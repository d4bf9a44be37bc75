// `make sizes`: the Worker's upload and the client packages' sizes alone, measured exactly as
// `make bench` measures them (bench/sections/size.mjs, bench/sections/client.mjs). Sizes follow
// from the build, not from the machine's load, so they need neither a quiet machine nor the
// twelve minutes of a full run. They replace the size figures in bench/results/latest.json
// (its timings are kept, with the time each part was measured), and BENCHMARKS.md and the
// READMEs' quoted sizes are rewritten from it.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tests/harness/worker.mjs';
import { evaluate } from './lib/goals.mjs';
import { clientMissing, clientSizes } from './sections/client.mjs';
import { sizeSection } from './sections/size.mjs';

const log = (m) => console.log(`sizes: ${m}`);
const path = join(ROOT, 'bench/results/latest.json');
const results = JSON.parse(readFileSync(path, 'utf8'));

// The Worker measured is whatever worker/build holds: bring it up to date first (a no-op when
// it is), or the figures describe an older build.
const build = spawnSync(join(ROOT, 'scripts/build-worker.sh'), { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const missing = clientMissing();
if (missing) throw new Error(`cannot measure the client: ${missing}`);
results.size = sizeSection(log);
results.client = { ...results.client, size: await clientSizes() };
results.sizes_measured_at = new Date().toISOString();
results.figures = evaluate(results);
writeFileSync(path, JSON.stringify(results, null, 2) + '\n');
log(`wrote the sizes into bench/results/latest.json: Worker ${results.size.wrangler_gzip_kib} KiB gzipped, client ${results.client.size.package_total_gzip} B gzipped`);

for (const script of ['bench/report.mjs', 'bench/doc-sizes.mjs']) {
  const r = spawnSync(process.execPath, [join(ROOT, script), ...(script.endsWith('doc-sizes.mjs') ? ['--write'] : [])], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
