// Shared steps of the client's browser tests (tests/browser/client-*.test.mjs): accounts,
// the demo page's controls, and network watching.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../harness/worker.mjs';

export const PASSWORD = 'correct horse battery staple 42';

/** Registers a fresh account through the HTTP API and returns its email. */
export async function registerAccount(baseUrl) {
  const email = `client-${randomBytes(6).toString('hex')}@example.com`;
  const res = await fetch(`${baseUrl}/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return email;
}

/**
 * Opens the demo page and waits until it has tried to resume a session. The network log
 * starts after that attempt (in a fresh context it is a 401: no cookie yet).
 */
export async function openDemo(context, baseUrl) {
  const page = await context.newPage();
  const watch = watchNetwork(page);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseUrl}/`);
  await page.waitForSelector('body[data-ready="true"]');
  watch.requests.length = 0;
  watch.responses.length = 0;
  return { page, watch, errors };
}

/** Logs in through the demo page's form and waits for the signed-in state. */
export async function loginOnDemo(page, email) {
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await page.waitForSelector('#status[data-state="signed-in"]');
}

/**
 * Every request and response of `page`, for assertions about what went over the wire; each
 * request with the time (`Date.now()` in the test process) it was sent.
 */
export function watchNetwork(page) {
  const seen = { requests: [], responses: [] };
  page.on('request', (r) => seen.requests.push({ method: r.method(), path: new URL(r.url()).pathname, at: Date.now() }));
  page.on('response', (r) => seen.responses.push({ path: new URL(r.url()).pathname, status: r.status() }));
  return seen;
}

/** Calls GET /me through the page's client every `everyMs` for `forMs`; returns the statuses. */
export async function callMeRepeatedly(page, forMs, everyMs = 250) {
  return page.evaluate(async ([forMs, everyMs]) => {
    const statuses = [];
    const end = Date.now() + forMs;
    while (Date.now() < end) {
      const res = await window.tollgateDemo.fetch('/me');
      statuses.push(res.status);
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return statuses;
  }, [forMs, everyMs]);
}

/** The event lines the demo page logged, oldest first. */
export async function demoEvents(page) {
  return (await page.locator('#events li').allTextContents()).reverse();
}

/**
 * Calls `auth.fetch('/me')` in `page` every 300 ms for `ms` milliseconds (across silent
 * refreshes); the statuses it got, in order.
 */
export function meStatusesFor(page, ms) {
  return page.evaluate(async (ms) => {
    const out = [];
    for (const end = Date.now() + ms; Date.now() < end;) {
      out.push((await window.auth.fetch('/me')).status);
      await new Promise((r) => setTimeout(r, 300));
    }
    return out;
  }, ms);
}

/**
 * A scratch app (under a new temporary directory, which the caller removes): the built
 * client and a page whose `window.auth` lists one API origin, read from the page's `?api=`
 * query because the ports are known only at run time.
 */
export function writeApiOriginsApp(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(ROOT, 'npm/dist'), join(dir, 'client'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="/main.js"></script>');
  writeFileSync(join(dir, 'main.js'), `import { createAuthClient } from '/client/index.js';
const api = new URLSearchParams(location.search).get('api');
window.auth = createAuthClient({ baseUrl: location.origin, apiOrigins: [api] });
document.body.dataset.ready = 'true';
`);
  return dir;
}
