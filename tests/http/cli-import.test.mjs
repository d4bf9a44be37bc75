// `tollgate import` and `tollgate user add` against a real `wrangler dev`: bulk files loaded
// with `wrangler kv bulk put` into the server's local KV, then used the way users would.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startWorker } from '../harness/worker.mjs';
import { kvUsers, login, storedUser, tollgate, usersInBulk } from '../cli/cli.mjs';

const FIXTURES = join(ROOT, 'crates/cli/tests/fixtures');
const ADMIN = { email: 'first.admin@example.com', password: 'first admin e2e passphrase' };
const PLAIN = { email: 'plain.user@example.com', password: 'plain user e2e passphrase' };
/** Every fixture password is "<local part>-legacy-pw" (see generate_legacy_users.py). */
const legacyPassword = (email) => `${email.split('@')[0]}-legacy-pw`;

const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-e2e-'));
let server;
let legacy; // [{id, email, role, record}] from the legacy bulk file
let malformedRun;

before(async () => {
  const legacyRun = tollgate(['import', join(FIXTURES, 'legacy_users.jsonl'), '--out', join(dir, 'legacy.json')]);
  assert.equal(legacyRun.code, 0, legacyRun.stderr);
  legacy = usersInBulk(readFileSync(join(dir, 'legacy.json'), 'utf8'));
  malformedRun = tollgate(['import', join(FIXTURES, 'malformed_users.jsonl'), '--out', join(dir, 'malformed.json')]);
  assert.equal(malformedRun.code, 0, malformedRun.stderr);
  for (const [user, role, file] of [[ADMIN, 'admin', 'admin.json'], [PLAIN, 'user', 'plain.json']]) {
    const run = tollgate(['user', 'add', user.email, '--role', role, '--out', join(dir, file)], { input: `${user.password}\n` });
    assert.equal(run.code, 0, run.stderr);
  }

  // Bulk files are loaded while the server is stopped, as an operator would before going live.
  server = await startWorker();
  await server.stop();
  for (const file of ['legacy.json', 'malformed.json', 'admin.json', 'plain.json']) {
    kvUsers(server.persistDir, ['bulk', 'put', join(dir, file)]);
  }
  await server.start();
});

after(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('import reports each malformed line with its number and reason', () => {
  const reported = malformedRun.stderr.split('\n').filter((l) => l.startsWith('line ')).map((l) => l.split(':').slice(0, 2).join(':'));
  assert.deepEqual(reported, [
    'line 3: invalid_json', 'line 4: not_an_object', 'line 5: invalid_email', 'line 6: missing_field',
    'line 7: missing_field', 'line 8: invalid_password_hash', 'line 9: invalid_password_hash',
    'line 10: invalid_password_hash', 'line 11: invalid_role', 'line 12: duplicate_email',
    'line 13: duplicate_email', 'line 14: wrong_type', 'line 15: invalid_password_hash',
  ]);
  assert.match(malformedRun.stderr, /16 lines: 2 users to import, 13 lines rejected, 1 blank lines skipped/);
});

test('imported passlib and pyca/bcrypt users log in with their old passwords, and legacy hashes become argon2id', async () => {
  assert.equal(legacy.length, 11);
  for (const user of legacy) {
    const wrong = await login(server.url, user.email, 'not-their-password');
    assert.equal(wrong.status, 401, `${user.email}: a wrong password is refused`);
    const res = await login(server.url, user.email, legacyPassword(user.email));
    assert.equal(res.status, 200, `${user.email} (${user.record.password_hash.slice(0, 8)}): ${await res.text()}`);
  }

  // Read what the Worker stored, from KV itself, with the server stopped.
  await server.stop();
  const stored = Object.fromEntries(legacy.map((u) => [u.email, storedUser(server.persistDir, u.id)]));
  await server.start();
  for (const user of legacy) {
    const now = stored[user.email].password_hash;
    const before = user.record.password_hash;
    if (before.startsWith('$argon2id$')) {
      // passlib's and argon2-cffi's argon2id defaults (m=65536 t=3 p=4) are stronger than the
      // Worker's: kept.
      assert.equal(now, before, `${user.email}: a stronger argon2id hash is kept`);
    } else {
      assert.notEqual(now, before, `${user.email}: the legacy hash was replaced`);
      assert.match(now, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/, user.email);
    }
    assert.equal(stored[user.email].id, user.id);
    assert.equal(stored[user.email].role, user.role);
  }
  // The upgraded hashes still open the accounts, after a restart.
  for (const user of legacy) {
    const res = await login(server.url, user.email, legacyPassword(user.email));
    assert.equal(res.status, 200, `${user.email} after the upgrade: ${await res.text()}`);
  }
});

test('the valid lines of a malformed file are imported and the rejected ones are not', async () => {
  // first.good and second.good carry the pyca.bcrypt.2b fixture hash.
  for (const email of ['first.good@example.com', 'second.good@example.com']) {
    const res = await login(server.url, email, 'pyca.bcrypt.2b-legacy-pw');
    assert.equal(res.status, 200, `${email}: ${await res.text()}`);
  }
  const dup = await login(server.url, 'Dup@example.com', 'pyca.bcrypt.2b-legacy-pw');
  assert.equal(dup.status, 401, 'both lines of a duplicated email were rejected');
});

test('with --existing from `wrangler kv key list`, a re-import refuses the emails that already have accounts', async () => {
  // The listing an operator makes, from the KV the earlier bulk files were loaded into.
  await server.stop();
  const listing = kvUsers(server.persistDir, ['key', 'list', '--prefix', 'email:']);
  await server.start();
  const keys = join(dir, 'existing-keys.json');
  writeFileSync(keys, listing);
  const input = join(dir, 'again.jsonl');
  writeFileSync(input, `${readFileSync(join(FIXTURES, 'legacy_users.jsonl'), 'utf8').trimEnd()}\n`
    + `${JSON.stringify({ email: 'newcomer@example.com', password_hash: legacy[0].record.password_hash })}\n`);

  const run = tollgate(['import', input, '--out', join(dir, 'again.json'), '--existing', keys]);
  assert.equal(run.code, 0, run.stderr);
  const refused = run.stderr.split('\n').filter((l) => l.startsWith('line '));
  assert.equal(refused.length, legacy.length, run.stderr);
  for (const line of refused) assert.match(line, /^line \d+: email_exists: ".+" already has an account/);
  assert.match(run.stderr, /12 lines: 1 users to import, 11 lines rejected/);
  assert.deepEqual(usersInBulk(readFileSync(join(dir, 'again.json'), 'utf8')).map((u) => u.email), ['newcomer@example.com']);
});

test('`tollgate user add --role admin` creates an admin who can list users; a plain user cannot', async () => {
  const res = await login(server.url, ADMIN.email, ADMIN.password);
  assert.equal(res.status, 200, await res.clone().text());
  const { access_token: token } = await res.json();
  const list = await fetch(`${server.url}/admin/users`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(list.status, 200, await list.clone().text());
  const { users } = await list.json();
  // The listing is built from the KV metadata the bulk files carry.
  const byEmail = Object.fromEntries(users.map((u) => [u.email, u]));
  assert.equal(byEmail[ADMIN.email]?.role, 'admin');
  for (const user of legacy) assert.equal(byEmail[user.email]?.role, user.role, user.email);

  const plain = await login(server.url, PLAIN.email, PLAIN.password);
  assert.equal(plain.status, 200);
  const forbidden = await fetch(`${server.url}/admin/users`, { headers: { authorization: `Bearer ${(await plain.json()).access_token}` } });
  assert.equal(forbidden.status, 403);
});
