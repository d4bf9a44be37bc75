// The admin page at /admin (worker/public/admin.html, a static asset under the demo page's
// strict CSP), driven in Chromium against the real Worker: an admin signs in, pages through
// the users and searches them by email prefix (ignoring case), changes a role (and sees an
// unknown one refused inline), ends a user's sessions, and deletes a user after confirming,
// each result shown in the user's row and checked against the API.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { client, fromAnywhere } from '../harness/api.mjs';
import { launchBrowser, watchCsp } from '../harness/browser.mjs';
import { kvBulkPut, promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';
import { PASSWORD } from './client-helpers.mjs';

const api = client(BASE);
const server = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
const tag = randomBytes(4).toString('hex');
// A well-formed argon2id PHC string for seeded users, who never log in.
const SEEDED_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2VlZGVkLXVzZXItc2FsdA$ZmFrZS1oYXNoLW9mLWEtc2VlZGVkLXVzZXItMzI';

/** Registers `email` and logs it in; returns its id and refresh cookie. */
async function account(email) {
  const headers = fromAnywhere();
  const reg = await api.post('/auth/register', { json: { email, password: PASSWORD }, headers });
  assert.equal(reg.status, 201, reg.text);
  const login = await api.post('/auth/login', { form: { username: email, password: PASSWORD }, headers });
  assert.equal(login.status, 200, login.text);
  return { id: reg.json.id, email, cookie: login.cookie.pair };
}

let browser;
let admin;
let users;
before(async () => {
  browser = await launchBrowser();
  admin = await account(`boss-${tag}@example.com`);
  promoteToAdmin(server, admin.id);
  // Mixed-case local parts: the search ignores case.
  users = [await account(`Act-${tag}-Ann@example.com`), await account(`act-${tag}-bob@example.com`), await account(`ACT-${tag}-cy@example.com`)];
  // More than a page of users whose emails share a prefix, seeded in the documented KV
  // format (README "Storage") as `tollgate user add` writes it.
  const now = Math.floor(Date.now() / 1000);
  const seeded = Array.from({ length: 130 }, (_, i) => ({ id: randomUUID(), email: `page-${tag}-${i}@example.com`, role: 'user', created_at: now }));
  kvBulkPut(server, 'USERS', seeded.flatMap((u) => [
    { key: `user:${u.id}`, value: JSON.stringify({ v: 1, ...u, password_hash: SEEDED_HASH, updated_at: now, session_epoch: 0 }), metadata: u },
    { key: `email:${u.email}`, value: u.id },
  ]));
});
after(async () => { await browser?.close(); });

/** A fresh page at /admin, signed in as `email`, with CSP violations collected. */
async function openAdmin(email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchCsp(page);
  await page.goto(`${BASE}/admin`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'signed-out');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('[data-testid=login]');
  return { context, page, violations };
}

const rowOf = (page, email) => page.locator(`tr[data-email="${email}" i]`);
const emailsShown = (page) => page.$$eval('tr[data-testid=user-row]', (rows) => rows.map((r) => r.dataset.email.toLowerCase()));

async function search(page, text) {
  await page.fill('#search', text);
  await page.click('[data-testid=search-button]');
  // The page says "Searching…" from the click until the search is done.
  await page.waitForFunction((t) => {
    const summary = document.querySelector('#summary').textContent;
    return summary.includes(`“${t}”`) && !summary.startsWith('Searching');
  }, text.trim().toLowerCase());
}

/**
 * The emails of the shown page and of every page after it ("Next page" until it is
 * disabled). With `full`, every page but the last must hold exactly that many rows.
 */
async function everyPage(page, { full }) {
  const seen = [];
  for (let number = 1; ; number++) {
    const shown = await emailsShown(page);
    seen.push(...shown);
    if (await page.isDisabled('#next-page')) return seen;
    if (full !== undefined) assert.equal(shown.length, full, 'only the last page is short');
    await page.click('#next-page');
    await page.waitForFunction((n) => document.querySelector('#summary').textContent.startsWith(`Page ${n}:`), number + 1);
  }
}

describe('the admin page', () => {
  test('is a static page under a strict CSP, beside the admin API, which the Worker still answers', async () => {
    const page = await fetch(`${BASE}/admin`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "frame-ancestors 'none'"]) {
      assert.ok(csp.split(/;\s*/).includes(directive), `${directive} in ${csp}`);
    }
    assert.ok(!csp.includes('unsafe-inline'), csp);
    for (const path of ['/admin.js', '/admin.css']) assert.equal((await fetch(`${BASE}${path}`)).status, 200, path);
    const apiAnswer = await fetch(`${BASE}/admin/users`);
    assert.equal(apiAnswer.status, 401);
    assert.equal((await apiAnswer.json()).code, 'not_authenticated');
  });

  test('tells a signed-in user who is not an admin that the page needs the admin role', async () => {
    const { context, page, violations } = await openAdmin(users[2].email);
    await page.waitForSelector('#status[data-state="not-admin"]');
    assert.equal(await page.locator('tr[data-testid=user-row]').count(), 0);
    assert.deepEqual(violations, []);
    await context.close();
  });

  test('an admin pages through users and searches them by email prefix, ignoring case', async () => {
    const { context, page, violations } = await openAdmin(admin.email);
    await page.waitForSelector('#status[data-state="admin"]');
    await page.waitForSelector('tr[data-testid=user-row]');
    // Without a search: the server's pages of 100, one after the other, every user once.
    await page.waitForFunction(() => document.querySelector('#summary').textContent.startsWith('Page 1:'));
    const seen = await everyPage(page, { full: 100 });
    assert.equal(new Set(seen).size, seen.length, 'no user on two pages');
    assert.equal(seen.filter((e) => e.startsWith(`page-${tag}-`)).length, 130, 'every seeded user');
    assert.ok(seen.includes(admin.email) && seen.length >= 134);
    // A search reads on through the server's pages until it has a page of matches; its pages
    // together hold every match, and nothing else.
    await search(page, `PAGE-${tag}`);
    const found = await everyPage(page, {});
    assert.equal(found.length, 130);
    assert.equal(new Set(found).size, 130);
    assert.ok(found.every((e) => e.startsWith(`page-${tag}-`)));
    await search(page, ` act-${tag.toUpperCase()} `);
    assert.deepEqual((await everyPage(page, {})).sort(), users.map((u) => u.email.toLowerCase()).sort());
    assert.deepEqual(violations, []);
    await context.close();
  });

  test('an admin changes a role, ends a user\'s sessions and deletes a user after confirming', async () => {
    const { context, page, violations } = await openAdmin(admin.email);
    await page.waitForSelector('#status[data-state="admin"]');
    await search(page, `act-${tag}`);
    const [ann, bob, cy] = users;

    // Change a role; an unknown one is refused in the row, naming the code.
    const annRow = rowOf(page, ann.email);
    await annRow.locator('[data-testid=role-input]').fill('root');
    await annRow.locator('[data-testid=change-role]').click();
    await annRow.locator('td.result[data-ok="false"]').waitFor();
    assert.match(await annRow.locator('[data-testid=result]').textContent(), /invalid_role/);
    await annRow.locator('[data-testid=role-input]').fill('admin');
    await annRow.locator('[data-testid=change-role]').click();
    await annRow.locator('td.result[data-ok="true"]', { hasText: 'Role is now admin' }).waitFor();
    const me = await api.post('/auth/login', { form: { username: ann.email, password: PASSWORD }, headers: fromAnywhere() });
    assert.equal(JSON.parse(Buffer.from(me.json.access_token.split('.')[1], 'base64url')).role, 'admin');
    // The role change ended Ann's earlier sessions.
    assert.equal((await api.post('/auth/refresh', { cookie: ann.cookie })).status, 401);

    // End a user's sessions: the session's refresh cookie stops working; the account does not.
    const live = await api.post('/auth/refresh', { cookie: bob.cookie });
    assert.equal(live.status, 200);
    const bobRow = rowOf(page, bob.email);
    await bobRow.locator('[data-testid=end-sessions]').click();
    await bobRow.locator('td.result[data-ok="true"]', { hasText: 'Every session' }).waitFor();
    assert.equal((await api.post('/auth/refresh', { cookie: live.cookie.pair })).status, 401);
    const login = await api.post('/auth/login', { form: { username: bob.email, password: PASSWORD }, headers: fromAnywhere() });
    assert.equal(login.status, 200, 'ending sessions does not lock the account');

    // Delete: asks first; Cancel keeps the user; confirming deletes them.
    const cyRow = rowOf(page, cy.email);
    await cyRow.locator('[data-testid=delete]').click();
    assert.match(await cyRow.locator('[data-testid=result]').textContent(), /cannot be undone/);
    await cyRow.locator('[data-testid=cancel-delete]').click();
    assert.equal(await cyRow.locator('[data-testid=result]').textContent(), 'Not deleted.');
    assert.equal((await api.post('/auth/refresh', { cookie: cy.cookie })).status, 200, 'still there');
    await cyRow.locator('[data-testid=delete]').click();
    await cyRow.locator('[data-testid=confirm-delete]').click();
    await cyRow.locator('td.result[data-ok="true"]', { hasText: 'Deleted.' }).waitFor();
    assert.equal(await cyRow.getAttribute('data-deleted'), 'true');
    const gone = await api.post('/auth/login', { form: { username: cy.email, password: PASSWORD }, headers: fromAnywhere() });
    assert.equal(gone.status, 401);

    // A fresh search no longer finds the deleted user.
    await search(page, `act-${tag}`);
    assert.deepEqual((await emailsShown(page)).sort(), [ann.email, bob.email].map((e) => e.toLowerCase()).sort());
    assert.deepEqual(violations, []);
    await context.close();
  });
});
