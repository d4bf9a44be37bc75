// @tollgate/react as apps ship it: packed with @tollgate/client, installed offline into a
// scratch project next to the pinned react and react-dom (packed again from node_modules),
// then: what the tarball holds; imported on a server it touches no `window` and renders
// `loading`; its gzipped size with React as a peer; a TSX app type-checks against its types;
// and a Vite-built React app, under the README's Content-Security-Policy, in headless Chromium
// against a real `wrangler dev` whose tokens live 4 seconds: it signs in, shows the email, keeps
// it through silent refreshes in two tabs, and signs out in both. Run by `make test-ts-pack`.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { measure } from '../../npm-react/scripts/size.mjs';
import { serveApp } from '../harness/app-server.mjs';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { ROOT, startWorker } from '../harness/worker.mjs';
import { CSP, NPM, packAndInstall } from './pack.mjs';

const TTL_SECONDS = 4;
const PASSWORD = 'correct horse battery staple 42';
/** The gzipped budget issue 17 sets for @tollgate/react, React and the client not counted. */
const SIZE_BUDGET_BYTES = 1024;

let packed;
let app;
let worker;
let site;
let browser;

const INDEX_HTML = `<!doctype html><meta charset="utf-8"><title>React sign-in app</title>
<div id="root"></div><script type="module" src="./main.jsx"></script>`;

// The app a React developer writes with the README: no inline code (the CSP allows none).
const MAIN_JSX = `import { AuthError, createAuthClient } from '@tollgate/client';
import { AuthProvider, useAccessToken, useAuth } from '@tollgate/react';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';

const auth = createAuthClient({ baseUrl: location.origin });

function SignIn() {
  const { login } = useAuth();
  const [error, setError] = useState('');
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    login(form.get('email'), form.get('password')).catch((e) => setError(e instanceof AuthError ? e.code : String(e)));
  };
  return (
    <form onSubmit={submit}>
      <input id="email" name="email" type="email" />
      <input id="password" name="password" type="password" />
      <button id="login" type="submit">Sign in</button>
      <p id="error">{error}</p>
    </form>
  );
}

function Account() {
  const { user, claims, logout } = useAuth();
  const token = useAccessToken();
  return (
    <div>
      <p id="who">{user ? user.email : ''}</p>
      <p id="jti">{claims.jti}</p>
      <p id="token">{token ? token.slice(-12) : ''}</p>
      <button id="logout" type="button" onClick={() => logout()}>Sign out</button>
    </div>
  );
}

function App() {
  const { status } = useAuth();
  return (
    <main id="status" data-status={status}>
      {status === 'loading' ? <p>Loading…</p> : status === 'signed_in' ? <Account /> : <SignIn />}
    </main>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <AuthProvider client={auth}>
      <App />
    </AuthProvider>
  </StrictMode>,
);
`;

before(async () => {
  packed = packAndInstall(['npm', 'npm-react'], { peers: ['react', 'react-dom', 'scheduler', '@types/react', 'csstype'] });
  app = packed.app;
  const web = join(app, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), INDEX_HTML);
  writeFileSync(join(web, 'main.jsx'), MAIN_JSX);
  // Vite's production build; its own esbuild compiles the JSX (no React plugin needed).
  const { build } = await import(join(ROOT, 'node_modules/vite/dist/node/index.js'));
  await build({ root: web, base: '/react/', logLevel: 'error', esbuild: { jsx: 'automatic' },
    build: { outDir: join(app, 'site/react'), emptyOutDir: true } });

  site = await serveApp({ dir: join(app, 'site'), headers: { 'Content-Security-Policy': CSP } });
  const built = spawnSync(join(ROOT, 'scripts/build-worker.sh'), { cwd: ROOT, stdio: 'inherit' });
  assert.equal(built.status, 0, 'scripts/build-worker.sh failed');
  worker = await startWorker({ vars: { ALLOWED_ORIGINS: site.origin, ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) } });
  site.proxyTo(worker.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await worker?.dispose();
  packed?.cleanup();
});

test('the tarball holds the built ESM, its types and the README; React and the client are peers, not bundled', () => {
  const out = execFileSync(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(ROOT, 'npm-react'), encoding: 'utf8' });
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort();
  assert.deepEqual(files, ['README.md', 'dist/index.d.ts', 'dist/index.js', 'package.json']);
  const manifest = JSON.parse(execFileSync(process.execPath, ['-p', "JSON.stringify(require('@tollgate/react/package.json'))"], { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), ['@tollgate/client', 'react']);
  assert.equal(manifest.dependencies, undefined);
});

test('on a server: importing it touches no window or document, and a server render shows loading and sends nothing', () => {
  const script = `
const touched = [];
for (const name of ['window', 'document', 'localStorage', 'sessionStorage', 'location', 'navigator']) {
  const had = Object.getOwnPropertyDescriptor(globalThis, name);
  Object.defineProperty(globalThis, name, { configurable: true, get() { touched.push(name); return had?.get ? had.get() : had?.value; } });
}
const { AuthProvider, useAuth, useAccessToken } = await import('@tollgate/react');
const seen = [...touched];
const { createElement: h } = await import('react');
const { renderToString } = await import('react-dom/server');
const { createAuthClient } = await import('@tollgate/client');
const requests = [];
const auth = createAuthClient({ baseUrl: 'https://auth.example', fetch: async (r) => { requests.push(String(r)); return new Response(null, { status: 500 }); } });
function Page() { const { status, user } = useAuth(); return h('p', null, status + ' ' + (user?.email ?? '-') + ' ' + (useAccessToken() ?? 'none')); }
const html = renderToString(h(AuthProvider, { client: auth }, h(Page)));
auth.close();
console.log(JSON.stringify({ touched: seen, html, requests }));
`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { touched: [], html: '<p>loading - none</p>', requests: [] });
});

test(`its gzipped size with React and the client as peers is under ${SIZE_BUDGET_BYTES} bytes`, async () => {
  const { minified, gzipped } = await measure(join(app, 'node_modules/@tollgate/react/dist/index.js'));
  console.log(`# @tollgate/react: ${minified} bytes minified, ${gzipped} bytes gzipped (react, react-dom and @tollgate/client external)`);
  assert.ok(gzipped < SIZE_BUDGET_BYTES, `${gzipped} bytes gzipped`);
});

test('a TSX app type-checks against the published types (tsc --noEmit --strict)', () => {
  writeFileSync(join(app, 'app.tsx'), `import { createAuthClient, type AccessClaims, type AuthStatus } from '@tollgate/client';
import { AuthProvider, useAccessToken, useAuth, type Auth, type AuthProviderProps } from '@tollgate/react';

const auth = createAuthClient({ baseUrl: 'https://auth.example' });
function Who() {
  const all: Auth = useAuth();
  const { status, claims, user, login, logout, logoutAll, client } = all;
  const s: AuthStatus = status;
  const c: AccessClaims | null = claims;
  const token: string | null = useAccessToken();
  const signIn: Promise<AccessClaims> = login('a@example.com', 'pw');
  const out: Promise<void>[] = [logout(), logoutAll()];
  // @ts-expect-error: the status is a closed union.
  const wrong: typeof status = 'signed-in';
  console.log(s, c, token, signIn, out, client.claims, wrong);
  return <p>{user?.email ?? ''}</p>;
}
const props: AuthProviderProps = { client: auth, resume: false };
export const page = <AuthProvider {...props}><Who /></AuthProvider>;
`);
  const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2022', '--lib', 'es2022,dom',
    '--module', 'esnext', '--moduleResolution', 'bundler', '--jsx', 'react-jsx', 'app.tsx'];
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc ${args.join(' ')} failed:\n${e.stdout}${e.stderr}`);
  }
});

/**
 * Registers a new user over a connection of its own. Not `fetch`: its pool keeps the
 * connection of the readiness check alive, the synchronous `tsc` and `npm` runs of the tests
 * before this one block the event loop past the server's keep-alive timeout, and the request
 * then went out on a socket the server had already closed ("other side closed").
 */
async function register() {
  const email = `react-${Math.random().toString(16).slice(2)}@example.com`;
  const body = JSON.stringify({ email, password: PASSWORD });
  const { status, text } = await new Promise((resolve, reject) => {
    const req = httpRequest(`${worker.url}/auth/register`, {
      method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(status, 201, text);
  return email;
}

/** Opens the app in a new tab of `context`, watching its network, CSP and errors. */
async function openTab(context) {
  const page = await context.newPage();
  const violations = await watchCsp(page);
  const responses = [];
  page.on('response', (r) => responses.push({ path: new URL(r.url()).pathname, status: r.status() }));
  await page.goto(`${site.url}/react/`);
  await page.waitForSelector('#status:not([data-status="loading"])', { timeout: 15_000 });
  return { page, violations, responses };
}

/** Waits until the tab has shown `n` further access tokens (silent refreshes, its own or another tab's). */
async function waitForNewTokens(page, n) {
  const seen = new Set([await page.textContent('#jti')]);
  const deadline = Date.now() + (n + 2) * TTL_SECONDS * 1000;
  while (seen.size <= n) {
    assert.ok(Date.now() < deadline, `only ${seen.size - 1} new tokens shown`);
    assert.equal(await page.getAttribute('#status', 'data-status'), 'signed_in');
    seen.add(await page.textContent('#jti'));
    await page.waitForTimeout(100);
  }
}

test('the Vite-built React app signs in, shows the email, keeps it through silent refreshes in two tabs, and signs out in both', async () => {
  const email = await register();
  const context = await browser.newContext();
  const a = await openTab(context);
  assert.equal(await a.page.getAttribute('#status', 'data-status'), 'signed_out');
  await a.page.fill('#email', email);
  await a.page.fill('#password', PASSWORD);
  await a.page.click('#login');
  await a.page.waitForSelector(`#who:text-is("${email}")`);

  // A second tab picks the session up from the cookie: no password.
  const b = await openTab(context);
  await b.page.waitForSelector(`#who:text-is("${email}")`);

  // Two token lifetimes: each tab shows new tokens and keeps the user and the signed-in state.
  await Promise.all([waitForNewTokens(a.page, 2), waitForNewTokens(b.page, 2)]);
  for (const tab of [a, b]) {
    assert.equal(await tab.page.textContent('#who'), email);
    assert.deepEqual(tab.responses.filter((r) => r.status >= 400 && r.path !== '/auth/refresh'), []);
    assert.deepEqual(tab.responses.filter((r) => r.path === '/auth/refresh' && r.status !== 200 && r.status !== 401), []);
    // The user is loaded once per tab and session, not at each refresh.
    assert.equal(tab.responses.filter((r) => r.path === '/me').length, 1);
  }
  assert.equal([...a.responses, ...b.responses].filter((r) => r.path === '/auth/login').length, 1);
  // A's first resume (before signing in) found no session: that one 401 is expected, no other.
  assert.deepEqual([...a.responses, ...b.responses].filter((r) => r.status === 401).length, 1);

  // Signing out in one tab signs the other out too, and a reload stays signed out.
  await a.page.click('#logout');
  await a.page.waitForSelector('#status[data-status="signed_out"]');
  await b.page.waitForSelector('#status[data-status="signed_out"]', { timeout: 5_000 });
  await b.page.reload();
  await b.page.waitForSelector('#status:not([data-status="loading"])');
  assert.equal(await b.page.getAttribute('#status', 'data-status'), 'signed_out');
  assert.deepEqual([...a.violations, ...b.violations], []);
  await context.close();
});
