// A user with more sessions than one KV list call returns (1,000 keys): listing them, and
// deleting the user, reach every one of them, not only the first page.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { client, logIn, signUp } from '../harness/api.mjs';
import { kvBulkPut, kvListKeys, promoteToAdmin } from '../harness/kv.mjs';
import { BASE } from '../harness/server-url.mjs';

const api = client(BASE);
const server = { persistDir: process.env.TOLLGATE_PERSIST_DIR };
const SEEDED = 1050;

/** A family id in the stored 8-4-4-4-12 hex form. */
function familyId() {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

test(`sessions beyond the first KV page (${SEEDED + 1} of them) are all listed and all end with the user`, async () => {
  const user = await signUp(api, { tag: 'many-sessions' });
  const now = Math.floor(Date.now() / 1000);
  // Families in the documented record format (README "Storage"), as many logins would leave.
  const families = Array.from({ length: SEEDED }, (_, i) => ({
    id: familyId(), user_id: user.id, generation: 0, rotated_at: now - 3600, created_at: now - 3600,
    last_used_at: now - 3600 + i, expires_at: now + 86_400, epoch: 0, user_agent: `seeded ${i}`,
  }));
  kvBulkPut(server, 'TOKENS', families.map((f) => ({
    key: `family:${user.id}:${f.id}`, value: JSON.stringify(f), metadata: f, expiration: f.expires_at,
  })));

  const listed = await api.get('/auth/sessions', { token: user.token });
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.json.sessions.length, SEEDED + 1, 'every session, past the first 1,000 keys');
  const ids = new Set(listed.json.sessions.map((s) => s.id));
  assert.ok(families.every((f) => ids.has(f.id)));

  const admin = await signUp(api, { tag: 'many-sessions-admin' });
  promoteToAdmin(server, admin.id);
  const adminToken = (await logIn(api, admin.email)).token;
  assert.equal((await api.del(`/admin/users/${user.id}`, { token: adminToken })).status, 204);
  const left = kvListKeys(server, 'TOKENS', `family:${user.id}:`)
    .filter((k) => !(k.metadata && k.metadata.revoked));
  assert.deepEqual(left.map((k) => k.name), [], 'no live session record is left behind');
});
