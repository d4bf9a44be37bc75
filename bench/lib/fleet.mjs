// Starts the servers a comparison needs, all knowing the same user under the same id and
// signing/verifying with the same secret, so one Tollgate-issued token works everywhere:
//   1. Tollgate starts with a fresh random JWT_SECRET; a user registers and logs in there.
//   2. That user's `user:{id}` record is read back with `wrangler kv key get` and written,
//      byte for byte, into the Hono peer's local KV (`wrangler kv key put`, before it starts)
//      and into the FastAPI peer's seed file (its in-process dict).
// Login throttling is disabled on the Tollgate server (`LOGIN_MAX_FAILURES:0`,
// `LOGIN_MAX_FAILURES_PER_ADDRESS:0`) because the login benchmark logs in many times from one
// address; calibration is enabled for the hashing benchmark. Neither changes /me or /auth/claims.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, PASSWORD } from '../../tests/harness/api.mjs';
import { BARE_CONFIG, HONO_CONFIG, TOLLGATE_CONFIG, freshDir, startFastApi, startWrangler, wranglerKv } from './servers.mjs';

export const TOLLGATE_VARS = {
  LOGIN_MAX_FAILURES: '0',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '0',
  TOLLGATE_CALIBRATION: 'enabled',
};

/**
 * @param {{hono?: boolean, fastapi?: boolean, bare?: boolean}} want which peers to start besides Tollgate
 */
export async function startFleet(want = { hono: true, fastapi: true, bare: true }) {
  const secret = randomBytes(32).toString('base64url');
  const fleet = { secret, servers: [] };
  fleet.stop = async () => { for (const s of fleet.servers.reverse()) await s.stop(); };
  try {
    fleet.tollgate = await startWrangler({ name: 'tollgate', config: TOLLGATE_CONFIG(), secrets: { JWT_SECRET: secret }, vars: TOLLGATE_VARS });
    fleet.servers.push(fleet.tollgate);
    const api = client(fleet.tollgate.url);
    const email = `bench-${Date.now().toString(36)}@example.com`;
    const reg = await api.post('/auth/register', { json: { email, password: PASSWORD } });
    if (reg.status !== 201) throw new Error(`register ${reg.status}: ${reg.text}`);
    const login = await api.post('/auth/login', { form: { username: email, password: PASSWORD } });
    if (login.status !== 200) throw new Error(`login ${login.status}: ${login.text}`);
    fleet.user = { id: reg.json.id, email, password: PASSWORD };
    fleet.token = login.json.access_token;
    const recordText = wranglerKv(fleet.tollgate, ['key', 'get', `user:${fleet.user.id}`, '--binding', 'USERS']).trim();
    fleet.record = JSON.parse(recordText);

    if (want.hono) {
      const persistDir = join(freshDir('hono-kv'), 'state');
      wranglerKv({ persistDir, config: HONO_CONFIG }, ['key', 'put', `user:${fleet.user.id}`, recordText, '--binding', 'USERS']);
      fleet.hono = await startWrangler({ name: 'hono', config: HONO_CONFIG, secrets: { JWT_SECRET: secret }, persistDir });
      fleet.servers.push(fleet.hono);
    }
    if (want.bare) {
      fleet.bare = await startWrangler({ name: 'bare', config: BARE_CONFIG, secrets: {} });
      fleet.servers.push(fleet.bare);
    }
    if (want.fastapi) {
      const seedFile = join(freshDir('fastapi-seed'), 'users.jsonl');
      writeFileSync(seedFile, recordText + '\n');
      fleet.fastapi = await startFastApi({ secret, seedFile });
      fleet.servers.push(fleet.fastapi);
    }
    return fleet;
  } catch (e) {
    await fleet.stop();
    throw e;
  }
}
