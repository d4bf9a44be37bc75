// Scale: does a request cost the same with 100,000 users in KV as with 1,000? Two API-only
// Tollgate servers, the same build, secret and vars, one on a local KV state holding 1,000
// users and one holding 100,000 (each with its email index), are measured in interleaved
// rounds on the same random sample of users:
//   login    one connection, each login a different random user (their records and index
//            entries are read, not one cached record again and again);
//   refresh  one connection, each the first refresh of one of those logins' sessions;
//   /me      wrk, 8 connections, cycling through those users' access tokens
//            (bench/wrk/tokens.lua);
//   admin    the paged user listing: time per page over the first pages, and the time to
//            page through every user.
// The users come from `tollgate import` (its bulk file is what `wrangler kv bulk put` loads in
// production), all with one argon2id hash of the benchmark password at the default cost made
// by `tollgate user add`: hashing 100,000 passwords would take over an hour and changes nothing
// a lookup costs. The bulk file is written into the local KV state by a Worker with Tollgate's
// bindings (bench/scale/seeder.mjs), since `wrangler kv bulk put --local` is far too slow at
// this size; the seeded state is kept in target/bench-scale/ (keyed by the user count and
// wrangler's version) and copied for each run, as seeding takes minutes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, PASSWORD } from '../../tests/harness/api.mjs';
import { ROOT } from '../../tests/harness/worker.mjs';
import { TOLLGATE_VARS } from '../lib/fleet.mjs';
import { TOLLGATE_API_CONFIG, freshDir, startWrangler } from '../lib/servers.mjs';
import { median, percentile, round } from '../lib/stats.mjs';
import { wrk } from '../lib/wrk.mjs';

const CACHE = join(ROOT, 'target/bench-scale');
/** Bump when what a seeded state holds changes, so old caches are not reused. */
const SEED_FORMAT = 1;
const ADMIN_EMAIL = 'scale-admin@example.com';
const SEED_BATCH = 500;

/** The release CLI, built if it is not there yet. */
function cli() {
  const bin = join(ROOT, 'target/release/tollgate');
  if (!existsSync(bin)) {
    const r = spawnSync('cargo', ['build', '--release', '--locked', '--quiet', '-p', 'tollgate-cli'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('cargo build --release -p tollgate-cli failed');
  }
  return bin;
}

/** `n` users (the first an admin) through `tollgate import`: the bulk entries and who is who. */
function population(n, dir) {
  const bin = cli();
  const add = spawnSync(bin, ['user', 'add', 'template@example.com', '--out', '-'], { input: `${PASSWORD}\n`, encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`tollgate user add failed: ${add.stderr}`);
  const template = JSON.parse(JSON.parse(add.stdout).find((e) => e.key.startsWith('user:')).value);
  const lines = [JSON.stringify({ email: ADMIN_EMAIL, password_hash: template.password_hash, role: 'admin' })];
  for (let i = 1; i < n; i++) lines.push(JSON.stringify({ email: `scale${i}@example.com`, password_hash: template.password_hash, role: 'user' }));
  const input = join(dir, 'users.jsonl');
  const bulkFile = join(dir, 'bulk.json');
  writeFileSync(input, lines.join('\n') + '\n');
  const imp = spawnSync(bin, ['import', input, '--strict', '--out', bulkFile], { encoding: 'utf8' });
  if (imp.status !== 0) throw new Error(`tollgate import failed: ${imp.stderr.slice(-2000)}`);
  const entries = JSON.parse(readFileSync(bulkFile, 'utf8'));
  const users = entries.filter((e) => e.key.startsWith('user:')).map((e) => {
    const record = JSON.parse(e.value);
    return { id: record.id, email: record.email };
  });
  if (users.length !== n) throw new Error(`tollgate import wrote ${users.length} users, not ${n}`);
  return { entries, users };
}

/** Tollgate's API-only config with `main` pointing at the seeder, so it has the same bindings. */
function seederConfig() {
  const toml = readFileSync(TOLLGATE_API_CONFIG(), 'utf8');
  const next = toml.replace(/^main = .*$/m, `main = ${JSON.stringify(join(ROOT, 'bench/scale/seeder.mjs'))}`);
  if (next === toml) throw new Error('cannot find main = in the API-only wrangler.toml');
  const path = join(freshDir('seeder-config'), 'wrangler.toml');
  writeFileSync(path, next);
  return path;
}

/** A fresh local KV state with `n` users, from the cache or seeded now; and who the users are. */
async function seededState(n, wranglerVersion, log) {
  const cached = join(CACHE, `users-${n}`);
  const stamp = JSON.stringify({ n, wrangler: wranglerVersion, format: SEED_FORMAT });
  const stampFile = join(cached, 'stamp.json');
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    log(`  seeding ${n.toLocaleString('en-US')} users (tollgate import, then bench/scale/seeder.mjs; kept in ${cached})`);
    const started = Date.now();
    const work = freshDir(`population-${n}`);
    const { entries, users } = population(n, work);
    const seeder = await startWrangler({ name: `seeder-${n}`, config: seederConfig(), secrets: {}, persistDir: join(work, 'state') });
    try {
      for (let i = 0; i < entries.length; i += SEED_BATCH) {
        const res = await fetch(`${seeder.url}/__bench/seed`, { method: 'POST', body: JSON.stringify(entries.slice(i, i + SEED_BATCH)) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`seeding entries ${i}.. answered ${res.status}: ${text}`);
        if (i % 20_000 === 0 && i) log(`    ${i.toLocaleString('en-US')} of ${entries.length.toLocaleString('en-US')} entries`);
      }
    } finally {
      await seeder.stop();
    }
    rmSync(cached, { recursive: true, force: true });
    mkdirSync(CACHE, { recursive: true });
    renameSync(work, cached);
    rmSync(join(cached, 'users.jsonl'));
    rmSync(join(cached, 'bulk.json'));
    writeFileSync(join(cached, 'users.json'), JSON.stringify(users));
    writeFileSync(stampFile, stamp);
    log(`  seeded ${entries.length.toLocaleString('en-US')} entries in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const persistDir = join(freshDir(`scale-${n}`), 'state');
  cpSync(join(cached, 'state'), persistDir, { recursive: true });
  return { persistDir, users: JSON.parse(readFileSync(join(cached, 'users.json'), 'utf8')) };
}

/** `k` distinct users of `users` (not the admin), by a seeded shuffle, so every run samples alike. */
function sample(users, k, seed) {
  const pool = users.filter((u) => u.email !== ADMIN_EMAIL);
  let x = seed;
  for (let i = pool.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, Math.min(k, pool.length));
}

async function timed(f) {
  const start = process.hrtime.bigint();
  const out = await f();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, out };
}

const summary = (ms) => ({ p50_ms: round(median(ms), 2), p99_ms: round(percentile(ms, 99), 2), count: ms.length });

/**
 * @param {{scaleUsers: number, scaleSample: number, scaleRounds: number, seconds: number, warmupSeconds: number, scaleAdminPages: number}} plan
 */
export async function scaleSection(plan, versions, log) {
  const sizes = [1_000, plan.scaleUsers];
  const secret = randomBytes(32).toString('base64url');
  const servers = {};
  const started = [];
  try {
    for (const n of sizes) {
      const { persistDir, users } = await seededState(n, versions.wrangler, log);
      const server = await startWrangler({ name: `tollgate-${n}`, config: TOLLGATE_API_CONFIG(), secrets: { JWT_SECRET: secret }, vars: TOLLGATE_VARS, persistDir });
      started.push(server);
      servers[n] = { server, api: client(server.url, { record: false }), users, sample: sample(users, plan.scaleSample, 7) };
    }
    const admin = {};
    for (const n of sizes) {
      const res = await servers[n].api.post('/auth/login', { form: { username: ADMIN_EMAIL, password: PASSWORD } });
      if (res.status !== 200) throw new Error(`admin login at ${n} users: ${res.status} ${res.text}`);
      admin[n] = res.json.access_token;
    }

    // Login and refresh, one request at a time, interleaved in chunks between the two servers.
    const results = Object.fromEntries(sizes.map((n) => [n, { login: [], refresh: [], tokens: [] }]));
    const chunk = Math.max(1, Math.ceil(plan.scaleSample / plan.scaleRounds));
    log(`scale: ${plan.scaleSample} logins and first refreshes of random users on each server`);
    for (let at = 0; at < plan.scaleSample; at += chunk) {
      for (const n of at / chunk % 2 ? [...sizes].reverse() : sizes) {
        const { api, sample: who } = servers[n];
        for (const user of who.slice(at, at + chunk)) {
          const login = await timed(() => api.post('/auth/login', { form: { username: user.email, password: PASSWORD, client_type: 'native' } }));
          if (login.out.status !== 200) throw new Error(`login of ${user.email} at ${n} users: ${login.out.status} ${login.out.text}`);
          results[n].login.push(login.ms);
          const refresh = await timed(() => api.post('/auth/refresh', { json: { refresh_token: login.out.json.refresh_token } }));
          if (refresh.out.status !== 200) throw new Error(`refresh at ${n} users: ${refresh.out.status} ${refresh.out.text}`);
          results[n].refresh.push(refresh.ms);
          results[n].tokens.push(refresh.out.json.access_token);
        }
      }
    }

    // /me with wrk, cycling through the sampled users' tokens.
    log('scale: /me, cycling through the sampled users\' tokens');
    const tokenFiles = {};
    for (const n of sizes) {
      tokenFiles[n] = join(freshDir(`tokens-${n}`), 'tokens.txt');
      writeFileSync(tokenFiles[n], results[n].tokens.join('\n') + '\n');
      await wrk({ url: `${servers[n].server.url}/me`, tokensFile: tokenFiles[n], connections: 8, seconds: plan.warmupSeconds });
    }
    const me = Object.fromEntries(sizes.map((n) => [n, []]));
    for (let r = 0; r < plan.scaleRounds; r++) {
      for (const n of r % 2 ? [...sizes].reverse() : sizes) {
        const res = await wrk({ url: `${servers[n].server.url}/me`, tokensFile: tokenFiles[n], connections: 8, seconds: plan.seconds, server: servers[n].server });
        me[n].push(res);
        log(`  /me at ${n.toLocaleString('en-US')} users: ${Math.round(res.rps)} req/s, p50 ${res.latency_us.p50} us`);
      }
    }

    // The admin listing: the first pages, interleaved, then every page once.
    log('scale: the paged admin listing');
    const pages = Object.fromEntries(sizes.map((n) => [n, []]));
    for (let r = 0; r < plan.scaleRounds; r++) {
      for (const n of r % 2 ? [...sizes].reverse() : sizes) {
        let cursor = null;
        for (let p = 0; p < plan.scaleAdminPages; p++) {
          const path = `/admin/users${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`;
          const page = await timed(() => servers[n].api.get(path, { token: admin[n] }));
          if (page.out.status !== 200) throw new Error(`${path} at ${n} users: ${page.out.status} ${page.out.text}`);
          pages[n].push(page.ms);
          cursor = page.out.json.cursor;
          if (!cursor) break;
        }
      }
    }
    const walk = {};
    for (const n of sizes) {
      let cursor = null;
      let count = 0;
      let pagesSeen = 0;
      const start = Date.now();
      do {
        const res = await servers[n].api.get(`/admin/users${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin[n] });
        if (res.status !== 200) throw new Error(`paging through ${n} users: ${res.status} ${res.text}`);
        count += res.json.users.length;
        pagesSeen += 1;
        cursor = res.json.cursor;
      } while (cursor);
      if (count !== n) throw new Error(`paging through the listing found ${count} users of ${n}`);
      walk[n] = { seconds: round((Date.now() - start) / 1000, 2), pages: pagesSeen, users: count };
      log(`  every page at ${n.toLocaleString('en-US')} users: ${walk[n].pages} pages in ${walk[n].seconds} s`);
    }

    const out = { users: sizes, sample: plan.scaleSample, by_users: {} };
    for (const n of sizes) {
      out.by_users[n] = {
        login: summary(results[n].login),
        refresh: summary(results[n].refresh),
        me: {
          rps_runs: me[n].map((r) => round(r.rps, 1)),
          rps_median: round(median(me[n].map((r) => r.rps)), 1),
          p50_ms: round(median(me[n].map((r) => r.latency_us.p50)) / 1000, 3),
          p99_ms: round(median(me[n].map((r) => r.latency_us.p99)) / 1000, 3),
        },
        admin_page: summary(pages[n]),
        admin_walk: walk[n],
      };
    }
    return out;
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}
