// Topology 4 of README "Where the frontend lives": examples/auth-proxy, the app's own Worker,
// serves the app and forwards Tollgate's paths to Tollgate over a service binding, both under
// one `wrangler dev`. In Chromium the app signs in, keeps its session across a reload and a
// silent refresh, and signs out, with no ALLOWED_ORIGINS, no CORS and a first-party cookie on
// the app's own host.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../harness/browser.mjs';
import { ROOT, startWorker, testConfigPath } from '../harness/worker.mjs';
import { meStatusesFor, PASSWORD, registerAccount } from './client-helpers.mjs';

const EXAMPLE = join(ROOT, 'examples/auth-proxy');
const TTL_SECONDS = 4;
let dir;
let server;
let browser;

before(async () => {
  // The example as it is, its files with @tollgate/client copied in (as its README says).
  dir = mkdtempSync(join(tmpdir(), 'tollgate-auth-proxy-'));
  cpSync(join(EXAMPLE, 'public'), join(dir, 'public'), { recursive: true });
  cpSync(join(ROOT, 'npm/dist'), join(dir, 'public/client'), { recursive: true });
  const toml = readFileSync(join(EXAMPLE, 'wrangler.toml'), 'utf8')
    .replace(/^main = "src\/index.js"$/m, `main = ${JSON.stringify(join(EXAMPLE, 'src/index.js'))}`)
    .replace(/^directory = "public"$/m, `directory = ${JSON.stringify(join(dir, 'public'))}`);
  assert.match(toml, new RegExp(`directory = ${JSON.stringify(join(dir, 'public'))}`));
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  // Tollgate as the second Worker of the same `wrangler dev`, which reads its vars from its
  // own configuration and its secrets from the .dev.vars beside it (`--var` and `--env-file`
  // go to the first Worker only).
  mkdirSync(join(dir, 'tollgate'));
  const tollgate = readFileSync(testConfigPath(), 'utf8').replace(/^ACCESS_TOKEN_TTL_SECONDS = "900"$/m, `ACCESS_TOKEN_TTL_SECONDS = "${TTL_SECONDS}"`);
  assert.match(tollgate, new RegExp(`ACCESS_TOKEN_TTL_SECONDS = "${TTL_SECONDS}"`));
  writeFileSync(join(dir, 'tollgate/wrangler.toml'), tollgate);
  writeFileSync(join(dir, 'tollgate/.dev.vars'), `JWT_SECRET=${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  server = await startWorker({ configPath: join(dir, 'wrangler.toml'), also: [join(dir, 'tollgate/wrangler.toml')] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the app behind its own Worker signs in, survives a reload and a silent refresh, and signs out, all same-origin', async () => {
  // Registered through the proxy: Tollgate answers at the app's origin.
  const email = await registerAccount(server.url);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const seen = [];
  page.on('request', (r) => seen.push(r));

  await page.goto(`${server.url}/`);
  await page.waitForSelector('#status[data-state="signed-out"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login button');
  await page.waitForSelector('#status[data-state="signed-in"]');

  const cookies = await context.cookies();
  assert.deepEqual(cookies.map((c) => [c.name, c.domain, c.path, c.sameSite, c.httpOnly]),
    [['__Host-tollgate_refresh', '127.0.0.1', '/', 'Strict', true]], 'a first-party cookie on the app\'s host');

  await page.reload();
  await page.waitForSelector('#status[data-state="signed-in"]');

  const statuses = await meStatusesFor(page, 2 * TTL_SECONDS * 1000);
  assert.deepEqual([...new Set(statuses)], [200]);

  const api = seen.filter((r) => /^\/(auth|me)/.test(new URL(r.url()).pathname));
  assert.ok(api.some((r) => new URL(r.url()).pathname === '/auth/refresh'), 'silent refreshes went through the proxy');
  assert.deepEqual(api.filter((r) => new URL(r.url()).origin !== server.url).map((r) => r.url()), [], 'every API call stayed on the app\'s origin');

  await page.click('#logout');
  await page.waitForSelector('#status[data-state="signed-out"]');
  await page.reload();
  await page.waitForSelector('#status[data-state="signed-out"]');
  assert.deepEqual(errors, []);
  await context.close();
});
