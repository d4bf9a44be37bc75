// HTTP comparisons with wrk against the running servers, on loopback:
//   throughput of the stateless protected route (Tollgate /auth/claims vs Hono),
//   throughput of /health on both Workers (no auth, no storage: the floor), and of a Worker
//   that does nothing (the runtime's own floor),
//   throughput of /me (Tollgate vs Hono vs FastAPI),
//   login latency, one connection, successful logins only (Tollgate as shipped vs FastAPI), in
//   runs of a fixed duration.
// Tollgate runs twice in the throughput comparisons (bench/lib/fleet.mjs): `tollgate`, the
// API-only configuration, compared like for like with the peers (none serves static files),
// and `tollgate_with_assets`, as shipped, with wrangler's asset router worker in front of it,
// so the as-shipped figure is measured too, in the same interleaved rounds. Both get the
// same token: the same secret signs and verifies on both, and the API-only server's KV holds
// the same user record.
// Each server is warmed up first; runs are interleaved (A B C, B C A, ...) so that a burst
// of load from elsewhere on the machine hits every server alike; the figure is the median.
import { median, round } from '../lib/stats.mjs';
import { wrk } from '../lib/wrk.mjs';

/**
 * Interleaved repeated wrk runs of one request shape against several servers: entries are
 * `[name, server]`, or `[name, server, path]` for a server that answers the same request at
 * another path (the do-nothing Worker's KV read under /me).
 */
async function compare(servers, shape, plan, log) {
  for (const [name, server, path = shape.path] of servers) {
    log(`  warm-up ${name} ${path} (${plan.warmupSeconds} s)`);
    await wrk({ ...shape, url: server.url + path, seconds: plan.warmupSeconds, connections: shape.connections });
  }
  const runs = Object.fromEntries(servers.map(([name]) => [name, []]));
  for (let round_ = 0; round_ < plan.runs; round_++) {
    for (let i = 0; i < servers.length; i++) {
      const [name, server, path = shape.path] = servers[(round_ + i) % servers.length];
      const r = await wrk({ ...shape, url: server.url + path, seconds: plan.seconds, server });
      runs[name].push(r);
      log(`  run ${round_ + 1}/${plan.runs} ${name} ${path}: ${Math.round(r.rps)} req/s, p50 ${r.latency_us.p50} us`);
    }
  }
  const out = {};
  for (const [name, rs] of Object.entries(runs)) {
    const cpu = {};
    for (const r of rs) for (const [comm, ms] of Object.entries(r.cpu_ms_per_request ?? {})) (cpu[comm] ??= []).push(ms);
    out[name] = {
      rps_runs: rs.map((r) => round(r.rps, 1)),
      rps_median: round(median(rs.map((r) => r.rps)), 1),
      latency_p50_us_median: median(rs.map((r) => r.latency_us.p50)),
      latency_p99_us_median: median(rs.map((r) => r.latency_us.p99)),
      requests: rs.reduce((a, r) => a + r.requests, 0),
      // Where the CPU went, per process of the server, in ms per request (median of runs).
      cpu_ms_per_request: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(median(v), 4)])),
    };
  }
  return out;
}

/**
 * @param {object} fleet from startFleet()
 * @param {{warmupSeconds:number, seconds:number, runs:number, connections:number,
 *   loginSeconds:number, loginRuns:number, loginWarmupSeconds:number}} plan
 */
export async function httpSection(fleet, plan, log) {
  const token = fleet.token;
  const get = (path) => ({ path, method: 'GET', token, connections: plan.connections });

  // The servers of one comparison, in this order, leaving out any the fleet did not start.
  const servers = (...names) => names.filter((n) => fleet[n]).map((n) => [n, fleet[n]]);

  log('throughput: stateless protected route');
  const stateless = await compare(servers('tollgate', 'hono', 'tollgate_with_assets'), get('/auth/claims'), plan, log);
  // The floor: a route with no auth and no storage on both Workers, so the cost of serving
  // any request at all (routing, configuration, building the response, the runtime) can be
  // told apart from the cost of verifying a token.
  // Beside them, a Worker that does nothing at all: what workerd and wrangler's proxy cost
  // per request before any Worker code runs, the floor no Worker can go under.
  // Tollgate as shipped beside the API-only server: what the asset router in front costs.
  // The API-only server again with worker-build's generated entry in place of the thin one
  // that ships (scripts/thin-entry.mjs): what that choice saves per request.
  log('throughput: /health (no auth, no storage), the floor under both Workers, and a do-nothing Worker');
  const floor = await compare(servers('tollgate', 'tollgate_with_assets', 'tollgate_generated_entry', 'hono', 'bare'), { path: '/health', method: 'GET', connections: plan.connections },
    { ...plan, runs: Math.min(plan.runs, 3) }, log);
  log('throughput: /me');
  // Beside them, the floor under /me: the do-nothing Worker reading the same record from its
  // KV and answering it, with no token and no parsing (bench/peers/bare, `GET /kv/<key>`).
  const kvFloor = fleet.bare ? [['bare', fleet.bare, `/kv/${encodeURIComponent(`user:${fleet.user.id}`)}`]] : [];
  const me = await compare([...servers('tollgate', 'hono', 'fastapi', 'tollgate_with_assets'), ...kvFloor], get('/me'), plan, log);

  // Login runs on Tollgate as shipped: the user registered there, so its email index is
  // there too (the API-only server holds only the user record), and at one argon2id hash per
  // login the asset router's fraction of a millisecond does not matter.
  log('login latency (one connection, successful logins only; Tollgate as shipped)');
  const shipped = fleet.tollgate_with_assets;
  const form = new URLSearchParams({ username: fleet.user.email, password: fleet.user.password }).toString();
  const loginShape = { path: '/auth/login', method: 'POST', body: form, contentType: 'application/x-www-form-urlencoded', connections: 1 };
  const login = {};
  const loginRuns = { tollgate_with_assets: [], fastapi: [] };
  for (const [, server] of [['tollgate_with_assets', shipped], ['fastapi', fleet.fastapi]]) {
    await wrk({ ...loginShape, url: server.url + loginShape.path, seconds: plan.loginWarmupSeconds });
  }
  for (let r = 0; r < plan.loginRuns; r++) {
    for (const [name, server] of r % 2 ? [['fastapi', fleet.fastapi], ['tollgate_with_assets', shipped]] : [['tollgate_with_assets', shipped], ['fastapi', fleet.fastapi]]) {
      // wrk's main thread always waits out -d, so each run is bounded by time (and hence count).
      const res = await wrk({ ...loginShape, url: server.url + loginShape.path, seconds: plan.loginSeconds, server });
      loginRuns[name].push(res);
      log(`  run ${r + 1}/${plan.loginRuns} ${name} login: p50 ${(res.latency_us.p50 / 1000).toFixed(1)} ms, p99 ${(res.latency_us.p99 / 1000).toFixed(1)} ms (${res.requests} logins)`);
    }
  }
  for (const [name, rs] of Object.entries(loginRuns)) {
    login[name] = {
      p50_ms_runs: rs.map((r) => r.latency_us.p50 / 1000),
      p99_ms_runs: rs.map((r) => r.latency_us.p99 / 1000),
      p50_ms: round(median(rs.map((r) => r.latency_us.p50 / 1000)), 2),
      p99_ms: round(median(rs.map((r) => r.latency_us.p99 / 1000)), 2),
      logins: rs.reduce((a, r) => a + r.requests, 0),
      cpu_ms_per_request: Object.fromEntries(Object.keys(rs[0].cpu_ms_per_request ?? {}).map((k) => [k, round(median(rs.map((r) => r.cpu_ms_per_request[k] ?? 0)), 2)])),
    };
  }
  return { plan, stateless, floor, me, login };
}
