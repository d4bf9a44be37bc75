// A quick decode comparison in headless Chromium, one page, one run: @tollgate/client's
// decodeClaims (built dist/) against jose's decodeJwt and jwt-decode's jwtDecode, on a token
// shaped like Tollgate's. Not the benchmark harness: a sanity figure for the boundary choice.
//   node npm/bench/decode-compare.mjs        (after `make client`)
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { launchBrowser } from '../../tests/harness/browser.mjs';
import { ROOT } from '../../tests/harness/worker.mjs';

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const PAGE = `<!doctype html><meta charset="utf-8"><title>decode</title><script type="module">
import { decodeClaims } from '/npm/dist/index.js';
import { decodeJwt } from '/node_modules/jose/dist/webapi/index.js';
import { jwtDecode } from '/node_modules/jwt-decode/build/esm/index.js';
const b64 = (v) => btoa(JSON.stringify(v)).replace(/=+$/, '').replace(/\\+/g, '-').replace(/\\//g, '_');
const now = Math.floor(Date.now() / 1000);
const token = b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' }) + '.' + b64({
  iss: 'tollgate', aud: 'tollgate', sub: '0190f6c2-7d1e-7a35-9c1b-6a1b2c3d4e5f', exp: now + 900, iat: now, nbf: now,
  jti: '0190f6c2-7d1e-7a35-9c1b-aaaaaaaaaaaa', sid: '0190f6c2-7d1e-7a35-9c1b-bbbbbbbbbbbb', role: 'user', scope: 'profile email',
}) + '.' + 'x'.repeat(43);
const subjects = { tollgate: decodeClaims, jose: decodeJwt, 'jwt-decode': jwtDecode };
for (const f of Object.values(subjects)) if (f(token).sub !== '0190f6c2-7d1e-7a35-9c1b-6a1b2c3d4e5f') throw new Error('wrong decode');
const N = 20000, ROUNDS = 15;
const samples = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
let sink = 0;
for (let warm = 0; warm < 3; warm++) for (const f of Object.values(subjects)) for (let i = 0; i < N; i++) sink += f(token).exp;
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, f] of Object.entries(subjects)) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) sink += f(token).exp;
    samples[name].push(((performance.now() - t0) * 1e6) / N);
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
window.result = { tokenBytes: token.length, n: N, rounds: ROUNDS, sink, nsPerOp: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) };
</script>`;

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
  const file = normalize(join(ROOT, path));
  try {
    if (!file.startsWith(ROOT) || !statSync(file).isFile()) throw new Error();
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(e));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.result, null, { timeout: 120_000 });
  const r = await page.evaluate(() => window.result);
  const ns = r.nsPerOp;
  console.log(`token ${r.tokenBytes} bytes; median of ${r.rounds} rounds of ${r.n} decodes, ${browser.version()}`);
  for (const [name, v] of Object.entries(ns)) console.log(`  ${name.padEnd(11)} ${v.toFixed(0).padStart(6)} ns/decode`);
  console.log(`  jose / tollgate       ${(ns.jose / ns.tollgate).toFixed(2)}x`);
  console.log(`  jwt-decode / tollgate ${(ns['jwt-decode'] / ns.tollgate).toFixed(2)}x`);
} finally {
  await browser.close();
  server.close();
}
