// Issue 13's two knobs, each measured against itself in the same run:
//   consistency: login, refresh and /me on two API-only Tollgate servers of the same build,
//     `CONSISTENCY=eventual` and `CONSISTENCY=strict`, side by side (latency; the Durable
//     Object calls per request come from the KV-operations section, run in both modes);
//   access-token revocation: /auth/claims throughput with `ACCESS_TOKEN_REVOCATION=expiry`
//     (no read) and `session` (one read of the user record), on two more servers.
// Logins and refreshes are timed one at a time from Node, alternating between the servers in
// short blocks so that load from elsewhere on the machine falls on both alike: a refresh must
// present the cookie the previous one set, which wrk cannot do. /me and /auth/claims run under
// wrk like the HTTP section's comparisons.
import { randomBytes } from 'node:crypto';
import { client, PASSWORD } from '../../tests/harness/api.mjs';
import { TOLLGATE_VARS } from '../lib/fleet.mjs';
import { TOLLGATE_API_CONFIG, startWrangler } from '../lib/servers.mjs';
import { median, percentile, round } from '../lib/stats.mjs';
import { wrk } from '../lib/wrk.mjs';

async function signIn(server) {
  const api = client(server.url, { record: false });
  const email = `modes-${randomBytes(6).toString('hex')}@example.com`;
  const reg = await api.post('/auth/register', { json: { email, password: PASSWORD } });
  if (reg.status !== 201) throw new Error(`register on ${server.name}: ${reg.status} ${reg.text}`);
  const login = await api.post('/auth/login', { form: { username: email, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login on ${server.name}: ${login.status} ${login.text}`);
  return { api, email, token: login.json.access_token, cookie: login.cookie.pair };
}

/** Milliseconds of each of `n` calls of `step` (which must succeed). */
async function timed(n, step) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await step();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

function summary(ms) {
  return { n: ms.length, p50_ms: round(median(ms), 2), p90_ms: round(percentile(ms, 90), 2) };
}

/** Interleaved blocks of `block` timed calls on each side until each has `total`. */
async function sideBySide(sides, total, block, stepFor) {
  const out = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let done = 0; done < total; done += block) {
    const order = (done / block) % 2 ? Object.keys(sides).reverse() : Object.keys(sides);
    for (const name of order) out[name].push(...await timed(Math.min(block, total - done), stepFor(name)));
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, summary(v)]));
}

async function throughput(servers, path, token, plan, log) {
  const out = {};
  for (const [name, server] of Object.entries(servers)) {
    await wrk({ url: server.url + path, method: 'GET', token, seconds: plan.warmupSeconds, connections: plan.connections });
  }
  const runs = Object.fromEntries(Object.keys(servers).map((k) => [k, []]));
  for (let r = 0; r < plan.runs; r++) {
    const names = Object.keys(servers);
    for (const name of r % 2 ? names.reverse() : names) {
      const res = await wrk({ url: servers[name].url + path, method: 'GET', token, seconds: plan.seconds, connections: plan.connections });
      runs[name].push(res.rps);
      log(`  run ${r + 1}/${plan.runs} ${name} ${path}: ${Math.round(res.rps)} req/s`);
    }
  }
  for (const [name, rps] of Object.entries(runs)) out[name] = { rps_runs: rps.map((x) => round(x, 1)), rps_median: round(median(rps), 1) };
  return out;
}

export async function modesSection(plan, log) {
  const secret = randomBytes(32).toString('base64url');
  const start = (name, vars) => startWrangler({ name, config: TOLLGATE_API_CONFIG(), secrets: { JWT_SECRET: secret }, vars: { ...TOLLGATE_VARS, ...vars } });
  const servers = {};
  try {
    log('consistency modes: login, refresh and /me, eventual vs strict');
    servers.eventual = await start('tollgate-eventual', { CONSISTENCY: 'eventual' });
    servers.strict = await start('tollgate-strict', { CONSISTENCY: 'strict' });
    const users = { eventual: await signIn(servers.eventual), strict: await signIn(servers.strict) };
    const login = await sideBySide(users, plan.modeLogins, 5, (name) => async () => {
      const u = users[name];
      const res = await u.api.post('/auth/login', { form: { username: u.email, password: PASSWORD } });
      if (res.status !== 200) throw new Error(`login (${name}): ${res.status} ${res.text}`);
    });
    log(`  login p50: eventual ${login.eventual.p50_ms} ms, strict ${login.strict.p50_ms} ms`);
    const refresh = await sideBySide(users, plan.modeRefreshes, 20, (name) => async () => {
      const u = users[name];
      const res = await u.api.post('/auth/refresh', { cookie: u.cookie });
      if (res.status !== 200) throw new Error(`refresh (${name}): ${res.status} ${res.text}`);
      u.cookie = res.cookie.pair;
    });
    log(`  refresh p50: eventual ${refresh.eventual.p50_ms} ms, strict ${refresh.strict.p50_ms} ms`);
    // One token works on both: the same secret signs, and /me reads each server's own replica,
    // so each server is asked with its own user's token.
    const me = {};
    for (const name of ['eventual', 'strict']) {
      Object.assign(me, await throughput({ [name]: servers[name] }, '/me', users[name].token, { ...plan, runs: Math.min(plan.runs, 3) }, log));
    }
    const meLatency = await sideBySide(users, plan.modeRefreshes, 20, (name) => async () => {
      const res = await users[name].api.get('/me', { token: users[name].token });
      if (res.status !== 200) throw new Error(`/me (${name}): ${res.status}`);
    });

    log('access-token revocation: /auth/claims, expiry vs session');
    servers.expiry = await start('tollgate-expiry', { ACCESS_TOKEN_REVOCATION: 'expiry' });
    servers.session = await start('tollgate-session', { ACCESS_TOKEN_REVOCATION: 'session' });
    // The token of a user of the `session` server, which that server can check; the `expiry`
    // server verifies it by signature alone (same secret).
    const revoking = await signIn(servers.session);
    const claims = await throughput({ expiry: servers.expiry, session: servers.session }, '/auth/claims', revoking.token, plan, log);
    return { consistency: { login, refresh, me_latency: meLatency, me_throughput: me }, access_token_revocation: { claims } };
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
}
