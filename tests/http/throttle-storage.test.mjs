// Throttle objects forget what no longer counts, under real workerd: a success deletes an
// object's state at once, and an alarm deletes the rest when its newest attempt leaves the
// window, so invented usernames cost no storage for long. The objects' storage is read from
// the local SQLite files of the server's persist dir (miniflare's layout under wrangler
// 4.86: v3/do/<script>-LoginThrottle/<id>.sqlite, with the object's name in
// __miniflare_do_name and pending alarms in metadata.sqlite) with Debian's sqlite3.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { client, email, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

// Long enough for a sign-up and six logins to land inside one window on a busy machine.
const WINDOW_S = 5;
let server;
let api;
before(async () => {
  server = await startWorker({ vars: { LOGIN_WINDOW_SECONDS: String(WINDOW_S), REGISTER_WINDOW_SECONDS: String(WINDOW_S) } });
  api = client(server.url);
});
after(async () => { await server?.dispose(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Waiting up to 5 s for workerd's own lock: the files are live, and a read that
// lands while the object writes would otherwise fail with "database is locked".
const sql = (file, query) =>
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', file, query], { encoding: 'utf8' }).trim();

/** The throttle objects that hold data now: their names and how many values each stores. */
function storedObjects() {
  const dir = join(server.persistDir, 'v3/do/tollgate-LoginThrottle');
  assert.ok(existsSync(dir), `no Durable Object storage at ${dir}: has miniflare's layout changed?`);
  const stored = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')) {
    const path = join(dir, file);
    // An object whose storage was deleted keeps an empty file: no tables at all. The files
    // are live, so an object may also delete its storage between two of these reads: a
    // missing table then means the same, nothing stored.
    try {
      if (sql(path, "select count(*) from sqlite_master where name = '_cf_KV'") === '0') continue;
      const values = Number(sql(path, 'select count(*) from _cf_KV'));
      if (values > 0) stored.set(sql(path, 'select name from __miniflare_do_name'), values);
    } catch (e) {
      // (Or, caught in the middle of that, sqlite reports a disk I/O error on the live file.)
      if (/no such table|disk I\/O error/.test(String(e.stderr ?? e.message))) continue;
      throw e;
    }
  }
  return stored;
}

/** How many alarms are pending. */
function pendingAlarms() {
  const metadata = join(server.persistDir, 'v3/do/tollgate-LoginThrottle/metadata.sqlite');
  return existsSync(metadata) ? Number(sql(metadata, 'select count(*) from _cf_ALARM')) : 0;
}

test('throttle objects keep nothing once it stops counting: at once after a success, by alarm after the window', async () => {
  const user = await signUp(api, { headers: { 'CF-Connecting-IP': '2001:db8:5:6::1' } });
  const ghosts = Array.from({ length: 6 }, () => email('ghost'));
  for (const [i, ghost] of ghosts.entries()) {
    const res = await api.post('/auth/login', { form: { username: ghost, password: 'wrong password!' }, headers: { 'CF-Connecting-IP': i % 2 ? '192.0.2.1' : '2001:db8:7:8::9' } });
    assert.equal(res.status, 401);
  }

  const stored = storedObjects();
  for (const ghost of ghosts) assert.ok(stored.has(`account:${ghost}`), `account:${ghost} in ${[...stored.keys()]}`);
  assert.ok(stored.has('address:192.0.2.1') && stored.has('address:2001:db8:7:8::/64'), [...stored.keys()].join(', '));
  assert.ok(stored.has('register:2001:db8:5:6::/64'), 'the registration counts for its window');
  // The sign-up's login succeeded: the account was cleared and the address's attempt taken
  // back, and neither object kept anything.
  assert.ok(!stored.has(`account:${user.email}`), [...stored.keys()].join(', '));
  assert.ok(!stored.has('address:2001:db8:5:6::/64'), [...stored.keys()].join(', '));
  assert.equal(pendingAlarms(), stored.size, 'one alarm per object holding data');

  // The alarms fire once the newest attempt leaves the window (whole seconds, so up to one
  // more), and the runtime may take a moment to run them.
  const deadline = Date.now() + (WINDOW_S + 15) * 1000;
  let left = storedObjects();
  while ((left.size > 0 || pendingAlarms() > 0) && Date.now() < deadline) {
    await sleep(500);
    left = storedObjects();
  }
  assert.deepEqual([...left.keys()], [], 'every object forgot its state');
  assert.equal(pendingAlarms(), 0);
});
