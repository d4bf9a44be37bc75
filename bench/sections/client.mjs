// The browser package: decode throughput in headless Chromium against jose and jwt-decode,
// and its size gzipped. Needs @tollgate/client built into npm/dist (`make client`); when the
// package there has no decodeClaims (the client has not landed on this branch yet), the
// section reports itself skipped, with the reason, and BENCHMARKS.md says so.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { measure as measureReact } from '../../npm-react/scripts/size.mjs';
import { ROOT } from '../../tests/harness/worker.mjs';
import { summarise } from '../lib/cpu-profile.mjs';
import { median, round } from '../lib/stats.mjs';

const DIST = join(ROOT, 'npm/dist');
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };

const gz = (buf) => gzipSync(buf, { level: 9 }).length;

/** Why the client cannot be measured, or null when it can. */
export function clientMissing() {
  const index = join(DIST, 'index.js');
  if (!existsSync(index)) return 'npm/dist/index.js does not exist (run `make client`)';
  const js = readdirSync(DIST).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(DIST, f), 'utf8')).join('\n');
  if (!/decodeClaims/.test(js)) return '@tollgate/client in npm/dist has no decodeClaims export yet: the browser client has not landed on this branch';
  if (!existsSync(join(DIST, 'wasm'))) return 'npm/dist/wasm is missing';
  return null;
}

/**
 * Sizes, gzipped at level 9: the wasm as the package ships it (hex inside a JS module, so
 * no bundler or CSP can break its loading), its wasm-bindgen glue; and the whole package as an
 * app bundles it, which is everything a browser downloads (the wasm is inside).
 */
export async function clientSizes() {
  const wasmDir = join(DIST, 'wasm');
  const embedded = readFileSync(join(wasmDir, 'tollgate_client_bytes.js'));
  const glue = readFileSync(join(wasmDir, 'tollgate_client.js'));
  const wasm = Buffer.from(/"([0-9a-f]+)"/.exec(embedded.toString('utf8'))[1], 'hex');
  const bundle = await build({ entryPoints: [join(DIST, 'index.js')], bundle: true, minify: true, format: 'esm',
    platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  const js = Buffer.from(bundle.outputFiles[0].contents);
  return {
    wasm_bytes: wasm.length, wasm_gzip: gz(wasm),
    embedded_bytes: embedded.length, embedded_gzip: gz(embedded),
    glue_bytes: glue.length, glue_gzip: gz(glue),
    wasm_and_glue_gzip: gz(embedded) + gz(glue),
    package_js_bundled_bytes: js.length, package_js_bundled_gzip: gz(js),
    package_total_gzip: gz(js),
    // @tollgate/react as an app pays for it: its peers (react, the client) left out.
    ...(existsSync(join(ROOT, 'npm-react/dist/index.js')) ? reactSizes(await measureReact(join(ROOT, 'npm-react/dist/index.js'))) : {}),
  };
}

const reactSizes = ({ minified, gzipped }) => ({ react_minified_bytes: minified, react_gzip: gzipped });

async function serve() {
  const peers = await build({ entryPoints: [join(ROOT, 'bench/browser/peers.mjs')], bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', absWorkingDir: ROOT });
  const routes = {
    '/': readFileSync(join(ROOT, 'bench/browser/page.html')),
    '/decode-bench.mjs': readFileSync(join(ROOT, 'bench/browser/decode-bench.mjs')),
    '/peers.js': Buffer.from(peers.outputFiles[0].contents),
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let body = routes[path];
    let type = TYPES[extname(path)] ?? 'text/html';
    if (!body && path.startsWith('/client/')) {
      const file = normalize(join(DIST, path.slice('/client/'.length)));
      if (file.startsWith(DIST) && existsSync(file)) body = readFileSync(file);
    }
    if (!body) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return server;
}

export async function clientSection(token, plan, log) {
  const missing = clientMissing();
  if (missing) {
    log(`client: skipped: ${missing}`);
    return { skipped: true, reason: missing };
  }
  log('client: sizes');
  const size = await clientSizes();
  log(`client: decode ops/s in headless Chromium (${plan.decodeRounds} rounds of ${plan.decodeSliceMs} ms each)`);
  const server = await serve();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 }).catch(() => {
      throw new Error(`the benchmark page did not load: ${errors.join('; ')}`);
    });
    const run = await page.evaluate(([t, p]) => window.runBench(t, p), [token, { rounds: plan.decodeRounds, sliceMs: plan.decodeSliceMs, warmupMs: 500 }]);
    const decode = {};
    for (const [name, xs] of Object.entries(run.results)) {
      decode[name] = { ops_per_second_runs: xs.map((x) => Math.round(x)), ops_per_second: Math.round(median(xs)) };
      log(`  ${name}: ${decode[name].ops_per_second} ops/s`);
    }
    // Where each library's decode spends its time: a V8 CPU profile of each alone in the
    // same page (through the DevTools protocol), after the measured rounds.
    const profiles = {};
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
    for (const name of Object.keys(run.results)) {
      await cdp.send('Profiler.start');
      await page.evaluate(([n, t]) => window.runOne(n, t, 1500), [name, token]);
      const { profile } = await cdp.send('Profiler.stop');
      profiles[name] = summarise(profile, 12);
    }
    await cdp.detach();
    return { skipped: false, browser: browser.version(), user_agent: run.userAgent, token_bytes: token.length, decode, size, profiles };
  } finally {
    await browser.close();
    server.close();
  }
}

export { round };
