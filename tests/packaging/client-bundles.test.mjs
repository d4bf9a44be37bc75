// @tollgate/client as apps ship it: the packed package, installed into a scratch project, in
// one small sign-in app built three ways (a Vite production build, an esbuild bundle, a plain
// <script type="module"> page) and served under the Content-Security-Policy the README
// recommends, `script-src 'self' 'wasm-unsafe-eval'` (with `default-src 'self'`). Each signs
// in against a real `wrangler dev` in headless Chromium with no CSP violation, and never
// fetches the wasm: its bytes travel inside the JavaScript, so no bundler's asset rules (Vite
// inlines small assets as `data:` URLs, which such a CSP refuses; esbuild does not emit them at
// all) can break it. Under a CSP without 'wasm-unsafe-eval' the app still renders and the
// client's first call fails with `client_unavailable`. Run by `make test-ts-pack`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build as esbuild } from 'esbuild';
import { serveApp } from '../harness/app-server.mjs';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { ROOT, startWorker } from '../harness/worker.mjs';
import { CSP, packAndInstall } from './pack.mjs';

/** The same without 'wasm-unsafe-eval': the wasm cannot be compiled. */
const CSP_WITHOUT_WASM = CSP.replace(" 'wasm-unsafe-eval'", '');
const PASSWORD = 'correct horse battery staple 42';

let packed;
let worker;
let site;
let strict; // the same files under the CSP without 'wasm-unsafe-eval'
let browser;

const INDEX_HTML = `<!doctype html><meta charset="utf-8"><title>sign-in app</title>
<script type="module" src="./main.js"></script>
<input id="email" type="email"><input id="password" type="password"><button id="login" type="button">Sign in</button>
<p id="who"></p><p id="error"></p>`;

// No inline code anywhere: the CSP allows none.
const mainJs = (specifier) => `import { AuthError, createAuthClient } from '${specifier}';
const $ = (id) => document.getElementById(id);
const auth = createAuthClient({ baseUrl: location.origin });
$('login').addEventListener('click', async () => {
  $('error').textContent = '';
  try {
    await auth.login($('email').value, $('password').value);
    const me = await (await auth.fetch('/me')).json();
    $('who').textContent = me.email;
  } catch (e) {
    $('error').textContent = e instanceof AuthError ? e.code : String(e);
  }
});
document.body.dataset.ready = 'true';
`;

/** Every file under `dir`, relative paths. */
const filesUnder = (dir, base = dir) => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)]));

before(async () => {
  packed = packAndInstall(['npm']);
  const { app } = packed;
  const web = join(app, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), INDEX_HTML);
  writeFileSync(join(web, 'main.js'), mainJs('@tollgate/client'));

  // 1. Vite, production build, every default (its 4 KB asset-inlining limit included).
  const { build } = await import(join(ROOT, 'node_modules/vite/dist/node/index.js'));
  await build({ root: web, base: '/vite/', logLevel: 'error', build: { outDir: join(app, 'site/vite'), emptyOutDir: true } });
  // 2. esbuild, one ESM bundle.
  await esbuild({ entryPoints: [join(web, 'main.js')], bundle: true, minify: true, format: 'esm', platform: 'browser',
    outfile: join(app, 'site/esbuild/main.js'), logLevel: 'silent' });
  writeFileSync(join(app, 'site/esbuild/index.html'), INDEX_HTML);
  // 3. No bundler: the installed files, imported by path (an import map would be inline code).
  mkdirSync(join(app, 'site/plain'), { recursive: true });
  writeFileSync(join(app, 'site/plain/index.html'), INDEX_HTML);
  writeFileSync(join(app, 'site/plain/main.js'), mainJs('/node_modules/@tollgate/client/dist/index.js'));
  cpSync(join(app, 'node_modules'), join(app, 'site/node_modules'), { recursive: true });

  // The app's server answers the API paths from the Worker: one origin, as the README's
  // same-origin topology has it, so `default-src 'self'` covers the API calls.
  site = await serveApp({ dir: join(app, 'site'), headers: { 'Content-Security-Policy': CSP } });
  strict = await serveApp({ dir: join(app, 'site'), headers: { 'Content-Security-Policy': CSP_WITHOUT_WASM } });
  const built = spawnSync(join(ROOT, 'scripts/build-worker.sh'), { cwd: ROOT, stdio: 'inherit' });
  assert.equal(built.status, 0, 'scripts/build-worker.sh failed');
  worker = await startWorker({ vars: { ALLOWED_ORIGINS: `${site.origin},${strict.origin}` } });
  site.proxyTo(worker.url);
  strict.proxyTo(worker.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await strict?.close();
  await worker?.dispose();
  packed?.cleanup();
});

async function register() {
  const email = `bundle-${Math.random().toString(16).slice(2)}@example.com`;
  const res = await fetch(`${worker.url}/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(res.status, 201, await res.text());
  return email;
}

/** Opens `url` in a fresh context, signs in, and returns what the page showed and fetched. */
async function signIn(url) {
  const email = await register();
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchCsp(page);
  const fetched = [];
  page.on('request', (r) => fetched.push(r.url()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await page.waitForFunction(() => document.getElementById('who').textContent || document.getElementById('error').textContent);
  const shown = { who: await page.textContent('#who'), error: await page.textContent('#error') };
  await context.close();
  return { email, shown, violations, fetched };
}

/** The wasm as the package embeds it (a hex string), read from the installed package. */
const embeddedWasm = async () =>
  (await import(join(packed.app, 'node_modules/@tollgate/client/dist/wasm/tollgate_client_bytes.js'))).default;

for (const kind of ['vite', 'esbuild', 'plain']) {
  test(`${kind}: the app signs in under script-src 'self' 'wasm-unsafe-eval' with no CSP violation and no wasm fetch`, async () => {
    const { email, shown, violations, fetched } = await signIn(`${site.url}/${kind}/`);
    assert.deepEqual(violations, []);
    assert.deepEqual(shown, { who: email, error: '' });
    assert.deepEqual(fetched.filter((u) => /\.wasm($|\?)|^data:/.test(u)), [], 'the wasm is never fetched');
  });
}

test('vite: the production build carries the wasm inside its JavaScript, not as an asset or a data: URL', async () => {
  const out = join(packed.app, 'site/vite');
  const files = filesUnder(out);
  assert.deepEqual(files.filter((f) => f.endsWith('.wasm')), [], 'no .wasm file is emitted: nothing to fetch');
  const js = files.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
  assert.ok(!js.includes('data:application/wasm'), 'no data: URL for the wasm');
  const wasm = await embeddedWasm();
  assert.ok(wasm.length > 4000 && js.includes(wasm), "the wasm's bytes are in the emitted JavaScript");
});

test("without 'wasm-unsafe-eval' the Vite-built app still renders, and signing in fails with client_unavailable before any request", async () => {
  const { shown, violations } = await signIn(`${strict.url}/vite/`);
  assert.deepEqual(shown, { who: '', error: 'client_unavailable' });
  // The refused compilation is the one expected violation, reported by the browser, not a page error.
  assert.ok(violations.length > 0 && violations.every((v) => /wasm-eval|WebAssembly|wasm-unsafe-eval/i.test(v) && !v.startsWith('page error')),
    violations.join('\n'));
  assert.deepEqual(strict.requests.filter((r) => r.path.startsWith('/auth/login')), [],
    'the password is never sent by a client that cannot read the answer');
});
