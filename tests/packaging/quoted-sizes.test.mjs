// The sizes the READMEs quote are `make bench`'s (bench/results/latest.json, which
// BENCHMARKS.md is rendered from): each is written between size markers that
// bench/doc-sizes.mjs fills in, and this test fails when one is stale or when a README quotes a
// gzipped size by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOCS, FIGURES, latestResults, markedSizes, rewrite } from '../../bench/doc-sizes.mjs';
import { ROOT } from '../harness/worker.mjs';

const results = latestResults();

for (const doc of DOCS) {
  const text = readFileSync(join(ROOT, doc), 'utf8');

  test(`${doc}: every quoted size equals bench/results/latest.json's`, () => {
    const marked = markedSizes(text, results);
    assert.ok(marked.length > 0, `${doc} quotes no size between markers`);
    assert.deepEqual(marked.filter((m) => m.problem).map((m) => `size:${m.key} ${m.problem}`), [],
      'run `make sizes` (or `node bench/doc-sizes.mjs --write` after `make bench`)');
  });

  test(`${doc}: no package or upload size is quoted by hand`, () => {
    // A number with a size unit within a few words of "gzip" or "minified" is a size of what
    // ships; outside the markers it would drift from the bench.
    const unmarked = text.replace(/<!-- size:[a-z-]+ -->.*?<!-- \/size -->/g, '<size>');
    const byHand = [...unmarked.matchAll(/\b\d[\d,.]*\s?(?:KB|KiB|kB|bytes|B)\b[^.\n]{0,40}\b(?:gzip|minified)|\b(?:gzip|minified)\w*[^.\n]{0,20}\b\d[\d,.]*\s?(?:KB|KiB|kB|bytes|B)\b/g)]
      .map((m) => m[0]);
    assert.deepEqual(byHand, [], `${doc} quotes sizes outside the markers`);
  });
}

test('the markers are filled from the figures they name', () => {
  const fake = { client: { size: { wasm_bytes: 3_813, package_total_gzip: 12_345, react_gzip: 1_024 } }, size: { wrangler_gzip_kib: 399.96 } };
  const text = 'a <!-- size:client-wasm -->?<!-- /size --> b <!-- size:client-gzip -->?<!-- /size --> '
    + 'c <!-- size:react-gzip -->?<!-- /size --> d <!-- size:worker-gzip -->?<!-- /size -->';
  assert.equal(rewrite(text, fake), 'a <!-- size:client-wasm -->3.8 KB<!-- /size --> b <!-- size:client-gzip -->12.3 KB<!-- /size --> '
    + 'c <!-- size:react-gzip -->1,024 bytes<!-- /size --> d <!-- size:worker-gzip -->400.0 KiB<!-- /size -->');
  assert.match(markedSizes('<!-- size:client-gzip -->8.9 KB<!-- /size -->', fake)[0].problem, /latest\.json says 12\.3 KB/);
  assert.match(markedSizes('<!-- size:nope -->1 KB<!-- /size -->', fake)[0].problem, /unknown size/);
  assert.match(markedSizes('<!-- size:client-wasm-glue-gzip -->1 KB<!-- /size -->', fake)[0].problem, /no figure/);
  assert.deepEqual(Object.keys(FIGURES).sort(), ['client-gzip', 'client-wasm', 'client-wasm-glue-gzip', 'react-gzip', 'react-minified', 'worker-gzip']);
});
