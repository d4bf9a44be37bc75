// The sizes the READMEs quote, from one source: bench/results/latest.json, which `make bench`
// and `make sizes` write (BENCHMARKS.md is rendered from the same file). A quoted size is
// written between markers, `<!-- size:client-gzip -->8.9 KB<!-- /size -->`, which Markdown does
// not show.
//   node bench/doc-sizes.mjs --write   rewrite every marked size from latest.json
//   node bench/doc-sizes.mjs --check   exit 1, naming each, when a marked size differs
// tests/packaging/quoted-sizes.test.mjs runs the check in `make test`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The files whose sizes are quoted from the bench. */
export const DOCS = ['README.md', 'npm/README.md', 'npm-react/README.md'];

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
const bytes = (n) => `${n.toLocaleString('en-US')} bytes`;

/** Each quotable figure: where latest.json holds it, and how a README writes it. */
export const FIGURES = {
  'client-wasm': { what: 'the client\'s wasm module, raw', from: (r) => r.client?.size?.wasm_bytes, show: kb },
  'client-wasm-glue-gzip': { what: 'the client\'s wasm and its JS glue, gzipped', from: (r) => r.client?.size?.wasm_and_glue_gzip, show: kb },
  'client-gzip': { what: 'all of @tollgate/client bundled and minified, gzipped', from: (r) => r.client?.size?.package_total_gzip, show: kb },
  'react-minified': { what: '@tollgate/react bundled and minified, peers left out', from: (r) => r.client?.size?.react_minified_bytes, show: bytes },
  'react-gzip': { what: '@tollgate/react bundled, minified and gzipped, peers left out', from: (r) => r.client?.size?.react_gzip, show: bytes },
  'worker-gzip': { what: 'the Worker\'s upload, gzipped (wrangler deploy --dry-run)', from: (r) => r.size?.wrangler_gzip_kib, show: (k) => `${k.toFixed(1)} KiB` },
};

const MARKED = /<!-- size:([a-z-]+) -->(.*?)<!-- \/size -->/g;

/** The results file the figures come from. */
export function latestResults() {
  return JSON.parse(readFileSync(join(ROOT, 'bench/results/latest.json'), 'utf8'));
}

/**
 * Every marked size in `text`, with what latest.json says it should read.
 * @returns {{key: string, quoted: string, want: string | null, problem: string | null}[]}
 */
export function markedSizes(text, results) {
  return [...text.matchAll(MARKED)].map(([, key, quoted]) => {
    const figure = FIGURES[key];
    if (!figure) return { key, quoted, want: null, problem: `unknown size "${key}" (known: ${Object.keys(FIGURES).join(', ')})` };
    const value = figure.from(results);
    if (typeof value !== 'number') return { key, quoted, want: null, problem: `bench/results/latest.json has no figure for "${key}" (${figure.what}): run make sizes` };
    const want = figure.show(value);
    return { key, quoted, want, problem: quoted === want ? null : `quotes ${quoted}, latest.json says ${want}` };
  });
}

/** `text` with every known marked size set from `results`. */
export function rewrite(text, results) {
  return text.replace(MARKED, (all, key) => {
    const figure = FIGURES[key];
    const value = figure?.from(results);
    return typeof value === 'number' ? `<!-- size:${key} -->${figure.show(value)}<!-- /size -->` : all;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  if (mode !== '--write' && mode !== '--check') {
    console.error('usage: node bench/doc-sizes.mjs --write | --check');
    process.exit(2);
  }
  const results = latestResults();
  let problems = 0;
  for (const doc of DOCS) {
    const path = join(ROOT, doc);
    const text = readFileSync(path, 'utf8');
    if (mode === '--write') {
      const next = rewrite(text, results);
      if (next !== text) {
        writeFileSync(path, next);
        console.log(`doc-sizes: rewrote the quoted sizes in ${doc}`);
      }
    }
    for (const m of markedSizes(mode === '--write' ? readFileSync(path, 'utf8') : text, results)) {
      if (m.problem) {
        problems += 1;
        console.error(`${doc}: size:${m.key} ${m.problem}`);
      }
    }
  }
  process.exit(problems ? 1 : 0);
}
