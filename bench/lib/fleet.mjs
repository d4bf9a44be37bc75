// Starts the servers a comparison needs, all knowing the same user under the same id and
// signing/verifying with the same secret, so one Tollgate-issued token works everywhere:
//   1. Tollgate as shipped (`tollgate_with_assets`: the root wrangler.toml, [assets] and all)
//      starts with a fresh random JWT_SECRET; a user registers and logs in there.
//   2. That user's `user:{id}` record is read back with `wrangler kv key get` and written,
//      byte for byte, into the local KV of the API-only Tollgate server (`tollgate`: the same
//      build, secret and vars without [assets], see TOLLGATE_API_CONFIG) and of the Hono peer
//      (`wrangler kv key put`, before each starts), and into the FastAPI peer's seed file (its
//      in-process dict).
// `tollgate` is the server compared with the peers, like for like: none of them serves static
// files. Login (and the hashing section) use `tollgate_with_assets`, where the user and its
// email index were written by registering; the API-only server knows the user only by id,
// enough for /me and /auth/claims.
// Login throttling is disabled on both Tollgate servers (`LOGIN_MAX_FAILURES:0`,
// `LOGIN_MAX_FAILURES_PER_ADDRESS:0`) because the login benchmark logs in many times from one
// address; calibration is enabled for the hashing benchmark. Neither changes /me or /auth/claims.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, PASSWORD } from '../../tests/harness/api.mjs';
import { BARE_CONFIG, HONO_CONFIG, TOLLGATE_API_CONFIG, TOLLGATE_CONFIG, TOLLGATE_GENERATED_ENTRY_CONFIG, freshDir, startFastApi, startWrangler, wranglerKv } from './servers.mjs';

export const TOLLGATE_VARS = {
  LOGIN_MAX_FAILURES: '0',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '0',
  TOLLGATE_CALIBRATION: 'enabled',
};

/**
 * Tollgate as shipped (`fleet.tollgate_with_assets`) always starts: the user registers and
 * logs in there. The rest as `want` says:
 * @param {{tollgate?: boolean, hono?: boolean, fastapi?: boolean, bare?: boolean, generatedEntry?: boolean}} want
 *   `tollgate`: the API-only Tollgate server (`fleet.tollgate`), on unless `false`;
 *   `hono`, `fastapi`, `bare`: the peers (all of them when `want` is not given);
 *   `generatedEntry`: the API-only server with worker-build's generated entry
 *   (`fleet.tollgate_generated_entry`, for /health only)
 */
export async function startFleet(want = { hono: true, fastapi: true, bare: true, generatedEntry: true }) {
  const secret = randomBytes(32).toString('base64url');
  const fleet = { secret, servers: [] };
  fleet.stop = async () => { for (const s of fleet.servers.reverse()) await s.stop(); };
  try {
    fleet.tollgate_with_assets = await startWrangler({ name: 'tollgate-with-assets', config: TOLLGATE_CONFIG(), secrets: { JWT_SECRET: secret }, vars: TOLLGATE_VARS });
    fleet.servers.push(fleet.tollgate_with_assets);
    const api = client(fleet.tollgate_with_assets.url);
    const email = `bench-${Date.now().toString(36)}@example.com`;
    const reg = await api.post('/auth/register', { json: { email, password: PASSWORD } });
    if (reg.status !== 201) throw new Error(`register ${reg.status}: ${reg.text}`);
    const login = await api.post('/auth/login', { form: { username: email, password: PASSWORD } });
    if (login.status !== 200) throw new Error(`login ${login.status}: ${login.text}`);
    fleet.user = { id: reg.json.id, email, password: PASSWORD };
    fleet.token = login.json.access_token;
    const recordText = wranglerKv(fleet.tollgate_with_assets, ['key', 'get', `user:${fleet.user.id}`, '--binding', 'USERS']).trim();
    fleet.record = JSON.parse(recordText);
    /** A fresh local KV state for `config` holding that record, byte for byte, in USERS. */
    const seededState = (prefix, config) => {
      const persistDir = join(freshDir(prefix), 'state');
      wranglerKv({ persistDir, config }, ['key', 'put', `user:${fleet.user.id}`, recordText, '--binding', 'USERS']);
      return persistDir;
    };

    if (want.tollgate ?? true) {
      const config = TOLLGATE_API_CONFIG();
      const persistDir = seededState('tollgate-kv', config);
      fleet.tollgate = await startWrangler({ name: 'tollgate', config, secrets: { JWT_SECRET: secret }, vars: TOLLGATE_VARS, persistDir });
      fleet.servers.push(fleet.tollgate);
      // The same secret and the same user record: the token issued by the as-shipped server
      // must work on this one, for the stateless route and for /me (which reads the record).
      for (const path of ['/auth/claims', '/me']) {
        const res = await client(fleet.tollgate.url).get(path, { token: fleet.token });
        if (res.status !== 200 || (path === '/me' && res.json?.id !== fleet.user.id)) {
          throw new Error(`the API-only Tollgate server answers ${path} with ${res.status} to the as-shipped server's token: ${res.text}`);
        }
      }
    }
    if (want.generatedEntry) {
      fleet.tollgate_generated_entry = await startWrangler({ name: 'tollgate-generated-entry', config: TOLLGATE_GENERATED_ENTRY_CONFIG(), secrets: { JWT_SECRET: secret }, vars: TOLLGATE_VARS });
      fleet.servers.push(fleet.tollgate_generated_entry);
    }
    if (want.hono) {
      const persistDir = seededState('hono-kv', HONO_CONFIG);
      fleet.hono = await startWrangler({ name: 'hono', config: HONO_CONFIG, secrets: { JWT_SECRET: secret }, persistDir });
      fleet.servers.push(fleet.hono);
    }
    if (want.bare) {
      // Seeded like the Hono peer, for its `GET /kv/<key>` route: the floor under /me.
      const persistDir = seededState('bare-kv', BARE_CONFIG);
      fleet.bare = await startWrangler({ name: 'bare', config: BARE_CONFIG, secrets: {}, persistDir });
      fleet.servers.push(fleet.bare);
      const res = await fetch(`${fleet.bare.url}/kv/${encodeURIComponent(`user:${fleet.user.id}`)}`);
      const text = await res.text();
      if (res.status !== 200 || text !== recordText) throw new Error(`the do-nothing Worker's /kv route answers ${res.status}, not the seeded record`);
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
