// Direct access to a test server's local KV through `wrangler kv` (the same tool operators
// use), for what the API deliberately cannot do: create the first admin, inspect a record.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './worker.mjs';

function wranglerKv(server, args) {
  const res = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'), ['kv', ...args, '--local', '--persist-to', server.persistDir], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  if (res.status !== 0) throw new Error(`wrangler kv ${args.join(' ')} failed:\n${res.stderr}`);
  return res.stdout;
}

/** The JSON stored under `key` in namespace `binding`, or null. */
export function kvGetJson(server, binding, key) {
  const out = wranglerKv(server, ['key', 'get', key, '--binding', binding]).trim();
  return out && out !== 'Value not found' ? JSON.parse(out) : null;
}

/** The text stored under `key` in namespace `binding` (an email index entry's id), or null. */
export function kvGetText(server, binding, key) {
  const out = wranglerKv(server, ['key', 'get', key, '--binding', binding, '--text']).trim();
  return out && out !== 'Value not found' ? out : null;
}

/**
 * Makes user `id` an admin by editing their record, as an operator could: moving `updated_at`
 * on, as README "Storage" asks of a hand edit, so that strict mode's object takes it up.
 */
export function promoteToAdmin(server, id) {
  const record = kvGetJson(server, 'USERS', `user:${id}`);
  if (!record) throw new Error(`no user ${id}`);
  record.role = 'admin';
  record.updated_at = Math.max(record.updated_at + 1, Math.floor(Date.now() / 1000));
  const summary = { id: record.id, email: record.email, role: record.role, created_at: record.created_at };
  wranglerKv(server, ['key', 'put', `user:${id}`, JSON.stringify(record), '--binding', 'USERS', '--metadata', JSON.stringify(summary)]);
}

/** The keys (`{name, expiration?, metadata?}`) under `prefix` in namespace `binding`. */
export function kvListKeys(server, binding, prefix) {
  return JSON.parse(wranglerKv(server, ['key', 'list', '--binding', binding, '--prefix', prefix]));
}

/**
 * Writes `entries` (`{key, value, metadata?}`, values as strings) into namespace `binding` in
 * one `wrangler kv bulk put`: how an operator seeds users (`tollgate user add` writes this).
 */
export function kvBulkPut(server, binding, entries) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-kv-'));
  try {
    const file = join(dir, 'bulk.json');
    writeFileSync(file, JSON.stringify(entries));
    wranglerKv(server, ['bulk', 'put', file, '--binding', binding]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Changes user `id`'s record with `edit` (given the parsed record, changing it in place), as
 * an operator could by hand: `updated_at` moves on, as README "Storage" asks of a hand edit,
 * so that strict mode's object takes it up.
 */
export function editUser(server, id, edit) {
  const record = kvGetJson(server, 'USERS', `user:${id}`);
  if (!record) throw new Error(`no user ${id}`);
  edit(record);
  record.updated_at = Math.max(record.updated_at + 1, Math.floor(Date.now() / 1000));
  const summary = { id: record.id, email: record.email, role: record.role, created_at: record.created_at };
  wranglerKv(server, ['key', 'put', `user:${id}`, JSON.stringify(record), '--binding', 'USERS', '--metadata', JSON.stringify(summary)]);
}

/**
 * Marks user `id`'s address verified by editing their record, as an operator could (moving
 * `updated_at` on, so that strict mode's object takes it up): for tests that need a verified
 * local account without a mailer.
 */
export function markEmailVerified(server, id) {
  editUser(server, id, (record) => {
    record.email_verified_at = Math.floor(Date.now() / 1000);
  });
}
