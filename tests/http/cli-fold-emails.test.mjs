// `tollgate fold-emails` against a real `wrangler dev` (issue 19 D): accounts indexed before
// emails were compared in any case (`email:Legacy.Admin@example.com`, as an older `tollgate
// import` of `Legacy.Admin@Example.COM` wrote it) are found in any case once the bulk file it
// makes from `wrangler kv key list` is loaded; accounts whose emails differ only by case are
// reported, not merged.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startWorker } from '../harness/worker.mjs';
import { kvUsers, login, register, tollgate } from '../cli/cli.mjs';

/** A fixture user's bcrypt hash and password (crates/cli/tests/fixtures/legacy_users.jsonl). */
const fixture = JSON.parse(readFileSync(join(ROOT, 'crates/cli/tests/fixtures/legacy_users.jsonl'), 'utf8').split('\n')[0]);
const PASSWORD = `${fixture.email.split('@')[0]}-legacy-pw`;

const dir = mkdtempSync(join(tmpdir(), 'tollgate-fold-e2e-'));
let server;
const ids = { legacy: crypto.randomUUID(), patUpper: crypto.randomUUID(), patLower: crypto.randomUUID() };

/** A record and its index entry as the previous rule wrote them: keyed by the address as stored. */
function oldRuleUser(id, email) {
  const record = {
    v: 1, id, email, password_hash: fixture.password_hash, role: 'user',
    created_at: 1_700_000_000, updated_at: 1_700_000_000, session_epoch: 0,
  };
  return [
    { key: `user:${id}`, value: JSON.stringify(record), metadata: { id, email, role: 'user', created_at: record.created_at } },
    { key: `email:${email}`, value: id },
  ];
}

/** `wrangler kv key list` of the whole USERS namespace, made while the server is stopped. */
async function listing(name) {
  await server.stop();
  const keys = kvUsers(server.persistDir, ['key', 'list']);
  await server.start();
  const file = join(dir, name);
  writeFileSync(file, keys);
  return file;
}

before(async () => {
  server = await startWorker();
  await server.stop();
  const bulk = join(dir, 'old-rule.json');
  writeFileSync(bulk, JSON.stringify([
    ...oldRuleUser(ids.legacy, 'Legacy.Admin@example.com'),
    // Two accounts the old rule kept apart.
    ...oldRuleUser(ids.patUpper, 'Pat@example.com'),
    ...oldRuleUser(ids.patLower, 'pat@example.com'),
  ]));
  kvUsers(server.persistDir, ['bulk', 'put', bulk]);
  await server.start();
});

after(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const loginId = async (email) => {
  const res = await login(server.url, email, PASSWORD);
  if (res.status !== 200) return res.status;
  const { access_token: token } = await res.json();
  const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  return (await me.json()).id;
};

test('before the fold an old-rule account answers only to its stored spelling; after it, to any', async () => {
  assert.equal(await loginId('legacy.admin@example.com'), 401);

  const keys = await listing('keys-1.json');
  const run = tollgate(['fold-emails', keys, '--out', join(dir, 'folded.json')]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'folded.json'), 'utf8')), [
    { key: 'email:legacy.admin@example.com', value: ids.legacy },
  ]);
  assert.match(run.stderr, new RegExp(`collision: email:pat@example.com would be 2 accounts: .*${ids.patUpper}.*${ids.patLower}|collision: email:pat@example.com would be 2 accounts: .*${ids.patLower}.*${ids.patUpper}`));
  // Loaded into the running server, as an operator upgrading a live deployment would.
  kvUsers(server.persistDir, ['bulk', 'put', join(dir, 'folded.json')]);

  for (const spelling of ['legacy.admin@example.com', 'LEGACY.ADMIN@EXAMPLE.COM', 'Legacy.Admin@example.com']) {
    assert.equal(await loginId(spelling), ids.legacy, spelling);
  }
  const variant = await register(server.url, 'legacy.ADMIN@example.com', 'a long passphrase nobody guesses');
  assert.equal(variant.status, 409, await variant.clone().text());
  assert.equal((await variant.json()).code, 'email_taken');
});

test('accounts whose emails differ only by case keep their own spellings, and a second run writes nothing', async () => {
  assert.equal(await loginId('Pat@example.com'), ids.patUpper);
  assert.equal(await loginId('pat@example.com'), ids.patLower);
  assert.equal(await loginId('PAT@example.com'), ids.patLower);
  const again = await register(server.url, 'pAT@example.com', 'a long passphrase nobody guesses');
  assert.equal(again.status, 409);

  const keys = await listing('keys-2.json');
  const run = tollgate(['fold-emails', keys]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), []);
  assert.match(run.stderr, /3 accounts: 0 to index under their folded key, 1 indexed already, 0 without any index entry \(left alone\), 2 in 1 collisions/);
  const strict = tollgate(['fold-emails', keys, '--strict']);
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /error\[fold_refused\]/);
});
