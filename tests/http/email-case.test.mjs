// Emails are compared case-insensitively (issue 19 D): the index key is the whole address
// case-folded, the address as typed is what the account shows and is mailed at. Entries an
// older Tollgate wrote (local part as typed) keep working and are migrated at a login.
// Against the shared server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, anyAddress, client, email, logIn } from '../harness/api.mjs';
import { kvBulkPut, kvGetJson, kvGetText } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const shared = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
const headers = () => ({ 'CF-Connecting-IP': anyAddress() });
const register = (address, password = PASSWORD) =>
  api.post('/auth/register', { json: { email: address, password }, headers: headers() });
const login = (address, password = PASSWORD) =>
  api.post('/auth/login', { form: { username: address, password }, headers: headers() });
/** `Sam.Case-…@Example.COM`: a fresh address with upper-case letters in both parts. */
const mixedCase = (tag) => {
  const [local, domain] = email(tag).split('@');
  return `${local[0].toUpperCase()}${local.slice(1)}.Case@${domain.toUpperCase()}`;
};
/** The id KV's email index holds under `key` (without `email:`), or null. */
const indexed = (key) => kvGetText(shared, 'USERS', `email:${key}`);

test('a case variant of a registered address is 409 email_taken, in the local part too', async () => {
  const typed = mixedCase('taken');
  const first = await register(typed);
  assert.equal(first.status, 201, first.text);
  // The address as typed is kept (domain lower-cased, as DNS compares it) ...
  const [local, domain] = typed.split('@');
  assert.equal(first.json.email, `${local}@${domain.toLowerCase()}`);
  for (const variant of [typed.toLowerCase(), typed.toUpperCase(), `${local.toLowerCase()}@${domain}`]) {
    const again = await register(variant);
    assert.equal(again.status, 409, `${variant}: ${again.text}`);
    assert.equal(again.json.code, 'email_taken');
  }
});

test('login works with any case of the address, and /me shows it as registered', async () => {
  const typed = mixedCase('anycase');
  const reg = await register(typed);
  assert.equal(reg.status, 201, reg.text);
  for (const variant of [typed, typed.toLowerCase(), typed.toUpperCase()]) {
    const session = await logIn(api, variant, PASSWORD, headers());
    const me = await api.get('/me', { token: session.token });
    assert.equal(me.json.id, reg.json.id, variant);
    assert.equal(me.json.email, reg.json.email);
  }
  // A wrong password in another case is the usual 401.
  assert.equal((await login(typed.toLowerCase(), `${PASSWORD}!`)).status, 401);
});

test('failed logins in other cases count against one account: the lockout holds whatever the case', async () => {
  const typed = mixedCase('lockcase');
  assert.equal((await register(typed)).status, 201);
  const variants = [typed, typed.toLowerCase(), typed.toUpperCase(), typed.replace(/^./, (c) => c.toLowerCase()), typed.replace(/e/g, 'E')];
  // LOGIN_MAX_FAILURES is 5 by default: five wrong guesses, each in another case ...
  for (const v of variants) assert.equal((await login(v, `wrong ${v}`)).status, 401, v);
  // ... lock the account for every case, the right password included.
  const locked = await login(typed.toLowerCase());
  assert.equal(locked.status, 429, locked.text);
  assert.equal(locked.json.code, 'too_many_attempts');
});

test('an index entry written under the old rule (local part as typed) logs in, and the login migrates it', async () => {
  // A user as an older Tollgate or `tollgate import` left it: the index key kept the local
  // part as typed. Made from a registered user's record, so the password hash is real.
  const template = await register(email('legacy-template'));
  const record = kvGetJson(shared, 'USERS', `user:${template.json.id}`);
  const id = crypto.randomUUID();
  const [local, domain] = email('legacy').split('@');
  const address = `Legacy.Admin-${local}@${domain}`; // as the old rule stored it
  kvBulkPut(shared, 'USERS', [
    { key: `user:${id}`, value: JSON.stringify({ ...record, id, email: address }), metadata: { id, email: address, role: record.role, created_at: record.created_at } },
    { key: `email:${address}`, value: id },
  ]);
  const folded = address.toLowerCase();
  assert.equal(indexed(folded), null);
  // Typed as stored (any domain case), it logs in: the old key is looked up too ...
  const session = await logIn(api, `Legacy.Admin-${local}@${domain.toUpperCase()}`, PASSWORD, headers());
  assert.equal((await api.get('/me', { token: session.token })).json.id, id);
  // ... and that login wrote the folded key, through the address's claim object.
  assert.equal(indexed(folded), id);
  // Now every case logs in, and no case variant can register.
  const lower = await logIn(api, folded, PASSWORD, headers());
  assert.equal((await api.get('/me', { token: lower.token })).json.email, address);
  const variant = await register(address.toUpperCase());
  assert.equal(variant.status, 409, variant.text);
  assert.equal(variant.json.code, 'email_taken');
  // The record keeps the address as it was typed.
  assert.equal(kvGetJson(shared, 'USERS', `user:${id}`).email, address);
});

test('re-registering an old-rule address exactly as stored is still 409', async () => {
  const template = await register(email('legacy-template2'));
  const record = kvGetJson(shared, 'USERS', `user:${template.json.id}`);
  const id = crypto.randomUUID();
  const address = `Old.Rule-${email('exact')}`;
  kvBulkPut(shared, 'USERS', [
    { key: `user:${id}`, value: JSON.stringify({ ...record, id, email: address }), metadata: { id, email: address, role: record.role, created_at: record.created_at } },
    { key: `email:${address}`, value: id },
  ]);
  const again = await register(address);
  assert.equal(again.status, 409, again.text);
  assert.equal(again.json.code, 'email_taken');
});
