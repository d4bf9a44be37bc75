// Load: /me throughput and latency at 1, 8 and 64 connections, Tollgate (API only) beside
// the Hono peer, in interleaved rounds. The goal is no collapse under concurrency: throughput
// at 64 connections at least 0.9 of that at 8. p99 is reported at each level.
import { median, round } from '../lib/stats.mjs';
import { wrk } from '../lib/wrk.mjs';

/** The connection counts measured. */
export const LOAD_CONNECTIONS = [1, 8, 64];

/**
 * @param {object} fleet from startFleet()
 * @param {{warmupSeconds: number, seconds: number, loadRounds: number}} plan
 */
export async function loadSection(fleet, plan, log) {
  const servers = ['tollgate', 'hono'].filter((n) => fleet[n]);
  const shape = { method: 'GET', token: fleet.token };
  for (const name of servers) await wrk({ ...shape, url: `${fleet[name].url}/me`, connections: 64, seconds: plan.warmupSeconds });
  const runs = Object.fromEntries(servers.map((n) => [n, Object.fromEntries(LOAD_CONNECTIONS.map((c) => [c, []]))]));
  for (let r = 0; r < plan.loadRounds; r++) {
    // Each round visits every (server, connections) pair, rotated so no pair is always first.
    const pairs = servers.flatMap((n) => LOAD_CONNECTIONS.map((c) => [n, c]));
    for (let i = 0; i < pairs.length; i++) {
      const [name, connections] = pairs[(r + i) % pairs.length];
      const res = await wrk({ ...shape, url: `${fleet[name].url}/me`, connections, seconds: plan.seconds, server: fleet[name] });
      runs[name][connections].push(res);
      log(`  load ${r + 1}/${plan.loadRounds} ${name} /me at ${connections} connections: ${Math.round(res.rps)} req/s, p99 ${res.latency_us.p99} us`);
    }
  }
  const out = {};
  for (const name of servers) {
    out[name] = Object.fromEntries(LOAD_CONNECTIONS.map((c) => {
      const rs = runs[name][c];
      return [c, {
        rps_runs: rs.map((x) => round(x.rps, 1)),
        rps_median: round(median(rs.map((x) => x.rps)), 1),
        p50_ms: round(median(rs.map((x) => x.latency_us.p50)) / 1000, 3),
        p99_ms: round(median(rs.map((x) => x.latency_us.p99)) / 1000, 3),
      }];
    }));
  }
  return out;
}
