// Silent refresh in real Chromium against a real `wrangler dev` whose access tokens live
// 4 seconds: the user never sees a 401 and never types the password again, with one tab, with
// two and then five tabs sharing the session, and a session revoked elsewhere ends on its next
// refresh.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../harness/browser.mjs';
import { startWorker } from '../harness/worker.mjs';
import { callMeRepeatedly, demoEvents, loginOnDemo, openDemo, registerAccount } from './client-helpers.mjs';

const TTL_SECONDS = 4;
let server;
let browser;

before(async () => {
  server = await startWorker({ vars: { ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

const logged = (event) => server.log.split('\n').filter((l) => l.includes(`"event":"${event}"`));
// The server's security log is captured (so "no reuse logged" means something): it has the
// refreshes, and no reuse.
const assertRefreshesLoggedWithoutReuse = () => {
  assert.ok(logged('token_refreshed').length > 0, 'no token_refreshed lines: is the security log captured?');
  assert.deepEqual(logged('refresh_token_reused'), []);
};

test('one tab calls a protected route for four token lifetimes: no 401, one login', async () => {
  const email = await registerAccount(server.url);
  const context = await browser.newContext();
  const { page, watch, errors } = await openDemo(context, server.url);
  await loginOnDemo(page, email);
  const statuses = await callMeRepeatedly(page, 4 * TTL_SECONDS * 1000);
  assert.ok(statuses.length > 20, `only ${statuses.length} calls`);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.deepEqual(watch.responses.filter((r) => r.path === '/me' && r.status !== 200), []);
  assert.equal(watch.requests.filter((r) => r.path === '/auth/login').length, 1);
  const refreshes = watch.responses.filter((r) => r.path === '/auth/refresh');
  assert.ok(refreshes.length >= 4, `${refreshes.length} refreshes in four lifetimes`);
  assert.deepEqual(refreshes.filter((r) => r.status !== 200), []);
  assert.ok(Number(await page.textContent('#refresh-count')) >= 4);
  assert.deepEqual(errors, []);
  assertRefreshesLoggedWithoutReuse();
  await context.close();
});

// How often one tab refreshes a TTL_SECONDS token at most: at half-life (tokens under a
// minute), less up to 1 s because `iat` is whole seconds (a token can arrive 0.99 s old), less
// up to 10 % of the lifetime of jitter. For 4 s tokens: every 0.6 s at the very most, about
// every 1.3 s on average.
const MIN_REFRESH_INTERVAL_MS = (TTL_SECONDS * 1000) / 2 - 1000 - TTL_SECONDS * 100;

test('two, then five tabs share one session: nobody is signed out, no reuse is logged, and they refresh about as often as one tab', async () => {
  const email = await registerAccount(server.url);
  const context = await browser.newContext();
  const first = await openDemo(context, server.url);
  await loginOnDemo(first.page, email);
  const tabs = [first];
  const grow = async (n) => {
    while (tabs.length < n) {
      const tab = await openDemo(context, server.url);
      // A new tab resumes the session from the shared cookie: no password.
      await tab.page.waitForSelector('#status[data-state="signed-in"]');
      tabs.push(tab);
    }
  };
  // Refresh requests of every tab between two moments (a new tab's resume is not counted:
  // openDemo starts watching after it).
  const refreshesBetween = (from, to) =>
    tabs.flatMap((t) => t.watch.requests).filter((r) => r.path === '/auth/refresh' && r.at >= from && r.at <= to).length;
  const phases = [];
  for (const n of [1, 2, 5]) {
    await grow(n);
    const from = Date.now();
    const results = await Promise.all(tabs.map((t) => callMeRepeatedly(t.page, 3 * TTL_SECONDS * 1000, 400)));
    const to = Date.now();
    for (const [i, statuses] of results.entries()) {
      assert.deepEqual([...new Set(statuses)], [200], `tab ${i} of ${n}`);
    }
    phases.push({ tabs: n, ms: to - from, refreshes: refreshesBetween(from, to) });
  }
  console.log(`# refreshes per phase: ${phases.map((p) => `${p.tabs} tab(s) ${p.refreshes} in ${p.ms} ms`).join('; ')}`);
  // One tab alone refreshes no more often than its schedule allows...
  const [alone, ...shared] = phases;
  assert.ok(alone.refreshes >= 3, `one tab refreshed only ${alone.refreshes} times in three lifetimes`);
  assert.ok(alone.refreshes <= alone.ms / MIN_REFRESH_INTERVAL_MS + 2, `one tab: ${alone.refreshes} refreshes in ${alone.ms} ms`);
  // ...and several tabs together about as often as that one tab did: one refreshes and hands
  // its token to the others (tabs refreshing on their own would be n times as many).
  const perMsAlone = alone.refreshes / alone.ms;
  for (const phase of shared) {
    const bound = 1.5 * perMsAlone * phase.ms + 2;
    assert.ok(phase.refreshes <= bound,
      `${phase.tabs} tabs made ${phase.refreshes} refreshes in ${phase.ms} ms; one tab made ${alone.refreshes} in ${alone.ms} ms (bound ${bound.toFixed(1)})`);
  }
  for (const [i, tab] of tabs.entries()) {
    const events = await demoEvents(tab.page);
    assert.deepEqual(events.filter((e) => /signed_out|refresh_failed/.test(e)), [], `tab ${i}`);
    assert.equal(await tab.page.getAttribute('#status', 'data-state'), 'signed-in', `tab ${i}`);
    assert.deepEqual(tab.watch.responses.filter((r) => r.status === 401), [], `tab ${i} saw a 401`);
    assert.deepEqual(tab.errors, [], `tab ${i}`);
  }
  assert.equal(tabs.flatMap((t) => t.watch.requests).filter((r) => r.path === '/auth/login').length, 1);
  assertRefreshesLoggedWithoutReuse();
  await context.close();
});

test('a session revoked from another browser ends on its next refresh', async () => {
  const email = await registerAccount(server.url);
  const [contextA, contextB] = [await browser.newContext(), await browser.newContext()];
  const a = await openDemo(contextA, server.url);
  await loginOnDemo(a.page, email);
  const b = await openDemo(contextB, server.url);
  await loginOnDemo(b.page, email);
  const sidB = JSON.parse(await b.page.textContent('#claims')).sid;

  await a.page.click('#load-sessions');
  await a.page.waitForSelector(`[data-testid="revoke-${sidB}"]`);
  await a.page.click(`[data-testid="revoke-${sidB}"]`);
  await a.page.waitForSelector(`[data-session-id="${sidB}"]`, { state: 'detached' });

  // B learns at its next refresh, within a token lifetime.
  await b.page.waitForSelector('#status[data-state="signed-out"]', { timeout: 2 * TTL_SECONDS * 1000 });
  const events = await demoEvents(b.page);
  assert.ok(events.some((e) => /signed_out \(session_ended: invalid_refresh_token\)/.test(e)), events.join('\n'));
  // A is untouched.
  assert.equal(await a.page.getAttribute('#status', 'data-state'), 'signed-in');
  assert.deepEqual([...new Set(await callMeRepeatedly(a.page, 2 * TTL_SECONDS * 1000))], [200]);
  assertRefreshesLoggedWithoutReuse();
  await contextA.close();
  await contextB.close();
});
