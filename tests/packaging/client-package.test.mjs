// The published shape of @tollgate/client: `npm pack` of npm/ (built by `make client`)
// installs offline into a scratch project and works from Node (ESM), from a plain
// <script type="module"> page and from a Vite build, the last two in headless Chromium.
// Run by `make test-ts`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../harness/browser.mjs';
import { ROOT } from '../harness/worker.mjs';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const TOKEN = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64({ sub: 'user-1', role: 'admin', exp: 2000000000, name: 'Zoë' })}.c2ln`;

let scratch;
let tarball;
let browser;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tollgate-pack-'));
  const out = execFileSync(NPM, ['pack', '--json', '--pack-destination', scratch], { cwd: join(ROOT, 'npm'), encoding: 'utf8' });
  tarball = join(scratch, JSON.parse(out)[0].filename);
  const app = join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  // --offline: the package must need nothing from the registry.
  execFileSync(NPM, ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, stdio: 'pipe' });
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the tarball holds the built ESM, its types and the wasm, and nothing else', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  for (const f of ['package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/node.js',
    'package/dist/wasm/tollgate_client_bg.wasm', 'package/dist/wasm/tollgate_client.js']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
  }
  assert.deepEqual(files.filter((f) => !/^package\/(package\.json|dist\/.*\.(js|d\.ts|wasm))$/.test(f) && f !== 'package/README.md'), []);
  const pkg = JSON.parse(readFileSync(join(scratch, 'app/node_modules/@tollgate/client/package.json'), 'utf8'));
  assert.equal(pkg.dependencies, undefined, 'the package must have no runtime dependencies');
  assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
});

test('Node imports it as ESM: decodeClaims works and errors carry the server code', () => {
  const script = `
    import { decodeClaims, AuthError, createAuthClient } from '@tollgate/client';
    const claims = decodeClaims(${JSON.stringify(TOKEN)});
    let code;
    try { decodeClaims('not.a.token!'); } catch (e) { code = e instanceof AuthError && e.code; }
    createAuthClient({ baseUrl: 'https://auth.example.com' }).close();
    console.log(JSON.stringify({ claims, code }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(scratch, 'app'), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { claims: { sub: 'user-1', role: 'admin', exp: 2000000000, name: 'Zoë' }, code: 'invalid_token' });
});

/** Serves `dir` on a free loopback port; .wasm as application/wasm. */
async function serve(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    try {
      const file = statSync(path).isDirectory() ? join(path, 'index.html') : path;
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((ok) => server.close(ok)) };
}

async function resultOf(url) {
  browser ??= await launchBrowser();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15_000 });
  const result = await page.evaluate(() => window.result);
  await page.close();
  assert.deepEqual(errors, []);
  return result;
}

const APP_CODE = `
  const claims = decodeClaims(${JSON.stringify(TOKEN)});
  let code;
  try { decodeClaims('x.y'); } catch (e) { code = e instanceof AuthError && e.code; }
  window.result = { sub: claims.sub, name: claims.name, code };`;

test('a plain <script type="module"> page imports it (import map to the installed files)', async () => {
  const app = join(scratch, 'app');
  writeFileSync(join(app, 'index.html'), `<!doctype html><meta charset="utf-8"><title>plain</title>
    <script type="importmap">{"imports":{"@tollgate/client":"/node_modules/@tollgate/client/dist/index.js"}}</script>
    <script type="module">
      import { decodeClaims, AuthError } from '@tollgate/client';
      ${APP_CODE}
    </script>`);
  const server = await serve(app);
  try {
    assert.deepEqual(await resultOf(`${server.url}/`), { sub: 'user-1', name: 'Zoë', code: 'invalid_token' });
  } finally {
    await server.close();
  }
});

test('a Vite build bundles it (top-level await, the wasm as an emitted asset)', async () => {
  const app = join(scratch, 'app');
  writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>vite</title><script type="module" src="/main.js"></script>');
  writeFileSync(join(app, 'main.js'), `import { decodeClaims, AuthError } from '@tollgate/client';\n${APP_CODE}`);
  const { build } = await import(join(ROOT, 'node_modules/vite/dist/node/index.js'));
  await build({ root: app, logLevel: 'error', build: { outDir: join(app, 'dist'), emptyOutDir: true } });
  const server = await serve(join(app, 'dist'));
  try {
    assert.deepEqual(await resultOf(`${server.url}/`), { sub: 'user-1', name: 'Zoë', code: 'invalid_token' });
  } finally {
    await server.close();
  }
});
