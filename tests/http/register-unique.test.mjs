// One account per email, at one location, whatever the concurrency (issue 13, section 4): the
// email index is read before anything is written, so two registrations can both find it
// empty. The address is claimed in its Durable Object (worker/src/records.rs, EmailClaims)
// before the account is created, and only one claim wins. Against the shared server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, anyAddress, client, email, logIn, signUp } from '../harness/api.mjs';
import { kvBulkPut, kvGetJson, promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const register = (address, password = PASSWORD) =>
  api.post('/auth/register', { json: { email: address, password }, headers: { 'CF-Connecting-IP': anyAddress() } });

test('20 concurrent registrations of one email give one account: one 201, nineteen 409 email_taken', async () => {
  const address = email('race');
  // Each with its own password, so the login below tells which registration won.
  const passwords = Array.from({ length: 20 }, (_, i) => `${PASSWORD} ${i}`);
  const results = await Promise.all(passwords.map((p) => register(address, p)));
  const created = results.filter((r) => r.status === 201);
  assert.equal(created.length, 1, results.map((r) => `${r.status} ${r.json?.code ?? ''}`).join(', '));
  for (const r of results.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.code, 'email_taken');
  }
  // The one account is the winner's: its password logs in, and every other is refused.
  const winner = passwords[results.indexOf(created[0])];
  const session = await logIn(api, address, winner, { 'CF-Connecting-IP': anyAddress() });
  const me = await api.get('/me', { token: session.token });
  assert.equal(me.json.id, created[0].json.id);
  const loser = passwords.find((p) => p !== winner);
  const refused = await api.post('/auth/login', {
    form: { username: address, password: loser },
    headers: { 'CF-Connecting-IP': anyAddress() },
  });
  assert.equal(refused.status, 401);
  // And a later registration still finds it taken.
  assert.equal((await register(address)).status, 409);
});

test('a deleted account frees its address: a new registration gets it, with a new id', async () => {
  const shared = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
  const admin = await signUp(api, { tag: 'claims-admin' });
  promoteToAdmin(shared, admin.id);
  const adminToken = (await logIn(api, admin.email, PASSWORD, { 'CF-Connecting-IP': anyAddress() })).token;
  const address = email('freed');
  const first = await register(address);
  assert.equal(first.status, 201);
  const deleted = await api.del(`/admin/users/${first.json.id}`, { token: adminToken });
  assert.equal(deleted.status, 204, deleted.text);
  const second = await register(address, `${PASSWORD} again`);
  assert.equal(second.status, 201, second.text);
  assert.notEqual(second.json.id, first.json.id);
  const session = await logIn(api, address, `${PASSWORD} again`, { 'CF-Connecting-IP': anyAddress() });
  assert.equal((await api.get('/me', { token: session.token })).json.id, second.json.id);
});

test('records written straight into KV (tollgate user add, an older Tollgate) keep working with the objects', async () => {
  // A user as `wrangler kv bulk put` of `tollgate user add` output leaves it: a record and an
  // index entry, and no claim or sequencer state. Made from a registered user's record, with a
  // new id and email, so the password hash is a real one.
  const shared = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
  const template = await signUp(api, { tag: 'template' });
  const record = kvGetJson(shared, 'USERS', `user:${template.id}`);
  const id = crypto.randomUUID();
  const address = email('planted');
  const planted = { ...record, id, email: address };
  kvBulkPut(shared, 'USERS', [
    { key: `user:${id}`, value: JSON.stringify(planted), metadata: { id, email: address, role: planted.role, created_at: planted.created_at } },
    { key: `email:${address}`, value: id },
  ]);
  // Its address is taken (the claim object finds the index entry), ...
  const again = await register(address);
  assert.equal(again.status, 409, again.text);
  assert.equal(again.json.code, 'email_taken');
  // ... and it logs in, changes its password (through its sequencer, which starts from KV)
  // and logs out everywhere.
  const headers = { 'CF-Connecting-IP': anyAddress() };
  const session = await logIn(api, address, PASSWORD, headers);
  const changed = await api.post('/auth/password', {
    token: session.token, headers, json: { current_password: PASSWORD, new_password: `${PASSWORD} planted` },
  });
  assert.equal(changed.status, 204, changed.text);
  const next = await logIn(api, address, `${PASSWORD} planted`, { 'CF-Connecting-IP': anyAddress() });
  // Token times are whole seconds: the logout-all refuses tokens from an earlier second.
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await api.post('/auth/logout-all', { token: next.token })).status, 204);
  assert.equal((await api.get('/me', { token: next.token })).status, 401);
  assert.equal(kvGetJson(shared, 'USERS', `user:${id}`).email, address);
});

test('20 concurrent registrations of case variants of one email give one account', async () => {
  const [local, domain] = email('caserace').split('@');
  // Twenty spellings of one address: the first five letters ("caser") upper- or lower-cased
  // as the bits of i say, and the domain in either case.
  const variants = Array.from({ length: 20 }, (_, i) => {
    const spelled = [...local].map((c, j) => (j < 5 && (i >> j) & 1 ? c.toUpperCase() : c)).join('');
    return `${spelled}@${i % 3 ? domain : domain.toUpperCase()}`;
  });
  assert.equal(new Set(variants).size, 20);
  const results = await Promise.all(variants.map((v, i) => register(v, `${PASSWORD} ${i}`)));
  const created = results.filter((r) => r.status === 201);
  assert.equal(created.length, 1, results.map((r) => `${r.status} ${r.json?.code ?? ''}`).join(', '));
  for (const r of results.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.code, 'email_taken');
  }
  // The winner logs in with any spelling.
  const winner = results.indexOf(created[0]);
  const session = await logIn(api, local.toUpperCase() + '@' + domain, `${PASSWORD} ${winner}`, { 'CF-Connecting-IP': anyAddress() });
  assert.equal((await api.get('/me', { token: session.token })).json.id, created[0].json.id);
});
