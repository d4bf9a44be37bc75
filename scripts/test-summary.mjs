// Reads the logs that scripts/test-all.sh wrote and prints per-layer counts and one final
// "N passed, N failed" line. Exits 1 if a layer's command failed or a layer ran no tests.
//
// Each runner's own summary lines are counted:
//   cargo test and wasm-bindgen-test-runner: "test result: ok. 12 passed; 0 failed; ..."
//   vitest:                                  "Tests  12 passed (12)" / "Tests  1 failed | 11 passed (12)"
//   node --test (spec reporter):             "ℹ pass 12" / "ℹ fail 0"
// The e2e log holds two node --test runs (HTTP, then browser); they are reported apart.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...layers] = process.argv.slice(2);
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

function count(text) {
  let passed = 0, failed = 0, found = false;
  for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += +m[1]; failed += +m[2]; found = true;
  }
  for (const m of text.matchAll(/^\s*Tests\s+(.*)\((\d+)\)\s*$/gm)) {
    const p = /(\d+) passed/.exec(m[1]); const f = /(\d+) failed/.exec(m[1]);
    passed += p ? +p[1] : 0; failed += f ? +f[1] : 0; found = true;
  }
  for (const m of text.matchAll(/^ℹ pass (\d+)$/gm)) { passed += +m[1]; found = true; }
  for (const m of text.matchAll(/^ℹ fail (\d+)$/gm)) { failed += +m[1]; found = true; }
  return { passed, failed, found };
}

let total = { passed: 0, failed: 0 };
let bad = false;
console.log('\n=== summary');
for (const layer of layers) {
  const log = join(dir, `${layer}.log`);
  const text = existsSync(log) ? strip(readFileSync(log, 'utf8')) : '';
  const rc = existsSync(join(dir, `${layer}.rc`)) ? +readFileSync(join(dir, `${layer}.rc`), 'utf8') : 1;
  // The e2e layer is two layers (HTTP, browser) run against one server.
  const parts = layer === 'e2e'
    ? text.split(/^=== e2e /m).slice(1).map((t) => [`e2e ${t.split(':')[0]}`, count(t)])
    : [[layer, count(text)]];
  if (parts.length === 0) parts.push([layer, { passed: 0, failed: 0, found: false }]);
  for (const [name, c] of parts) {
    let note = '';
    if (rc !== 0) note = ` (exit ${rc})`;
    if (c.passed + c.failed === 0) note += ' (ran no tests)';
    if (note) bad = true;
    console.log(`  ${name.padEnd(12)} ${String(c.passed).padStart(4)} passed, ${String(c.failed).padStart(3)} failed${note}`);
    total.passed += c.passed; total.failed += c.failed;
  }
}
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(bad || total.failed > 0 ? 1 : 0);
