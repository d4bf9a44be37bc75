// Cold start: from a new workerd to the first response, for Tollgate's built Worker (as
// `wrangler deploy` ships it: worker/build/index.js and its wasm), the Hono peer (bundled by
// esbuild, as wrangler would) and the do-nothing Worker. Each start is a new Miniflare (the
// workerd that `wrangler dev` runs, without wrangler's proxy or file watching) made from
// scratch, then one request (`GET /health`; the do-nothing Worker answers any path): script
// parse, wasm compile and instantiate, and the first request are all inside the time. The
// do-nothing Worker's time is what starting workerd costs any Worker; each Worker's own cost
// is its time above that. Rounds are interleaved (A B C, B C A, ...); figures are medians.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { ROOT } from '../../tests/harness/worker.mjs';
import { freshDir } from '../lib/servers.mjs';
import { median, round } from '../lib/stats.mjs';

const COMPATIBILITY_DATE = '2026-04-20';

async function workers() {
  const hono = join(freshDir('cold-hono'), 'index.mjs');
  await build({ entryPoints: [join(ROOT, 'bench/peers/hono/index.js')], bundle: true, format: 'esm', platform: 'neutral',
    target: 'es2022', minify: true, outfile: hono, logLevel: 'silent', absWorkingDir: ROOT });
  const secret = randomBytes(32).toString('base64url');
  const common = { compatibilityDate: COMPATIBILITY_DATE, kvNamespaces: ['USERS'] };
  return {
    tollgate: {
      ...common,
      modulesRoot: join(ROOT, 'worker/build'),
      modules: [
        { type: 'ESModule', path: join(ROOT, 'worker/build/index.js') },
        { type: 'CompiledWasm', path: join(ROOT, 'worker/build/index_bg.wasm') },
      ],
      kvNamespaces: ['USERS', 'TOKENS'],
      durableObjects: { THROTTLE: 'LoginThrottle', USER_RECORDS: 'UserRecords', EMAIL_CLAIMS: 'EmailClaims' },
      bindings: { JWT_SECRET: secret },
    },
    // modulesRoot: module names are paths relative to it, and may not climb out of it.
    hono: { ...common, modules: true, scriptPath: hono, modulesRoot: dirname(hono), bindings: { JWT_SECRET: secret, JWT_ISSUER: 'tollgate', JWT_AUDIENCE: 'tollgate' } },
    bare: { ...common, modules: true, scriptPath: join(ROOT, 'bench/peers/bare/index.js'), modulesRoot: join(ROOT, 'bench/peers/bare') },
  };
}

/** Milliseconds from `new Miniflare` to the end of the first response's body. */
async function coldStart(options) {
  const start = process.hrtime.bigint();
  const mf = new Miniflare(options);
  try {
    const res = await mf.dispatchFetch('http://localhost/health');
    await res.text();
    if (res.status !== 200) throw new Error(`the first request answered ${res.status}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    await mf.dispose();
  }
}

/** @param {{coldStartRounds: number}} plan */
export async function coldStartSection(plan, log) {
  const options = await workers();
  const names = Object.keys(options);
  // One start each first, not counted: the first workerd start of a run also warms the disk cache.
  for (const name of names) await coldStart(options[name]);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < plan.coldStartRounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length];
      runs[name].push(await coldStart(options[name]));
    }
    log(`  cold start round ${r + 1}/${plan.coldStartRounds}: ${names.map((n) => `${n} ${runs[n].at(-1).toFixed(0)} ms`).join(', ')}`);
  }
  const floor = median(runs.bare);
  return Object.fromEntries(names.map((n) => [n, {
    ms_runs: runs[n].map((x) => round(x, 1)),
    ms_median: round(median(runs[n]), 1),
    above_bare_ms: round(median(runs[n]) - floor, 1),
  }]));
}
