// Renders BENCHMARKS.md from bench/results/latest.json. Every number in the document comes
// from that file; nothing is typed in by hand. Run by bench/run.sh after bench/bench.mjs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tests/harness/worker.mjs';
import { evaluate } from './lib/goals.mjs';
import { demangleLegacy } from './lib/wasm-sizes.mjs';

const r = JSON.parse(readFileSync(join(ROOT, 'bench/results/latest.json'), 'utf8'));
// The verdicts are recomputed from the raw results with the goals as committed.
r.figures = evaluate(r);
const lines = [];
const w = (s = '') => lines.push(s);
const num = (x, d = 0) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const table = (head, rows) => {
  w(`| ${head.join(' | ')} |`);
  w(`|${head.map(() => '---').join('|')}|`);
  for (const row of rows) w(`| ${row.join(' | ')} |`);
  w();
};
const fig = (id) => r.figures.find((f) => f.id === id);
const verdict = (f) => (f.met === null ? 'skipped' : f.met ? '**met**' : '**missed**');
// Tollgate runs twice (bench/lib/fleet.mjs): `tollgate` is the API-only configuration, judged
// against the peers; `tollgate_with_assets` is the root wrangler.toml as shipped.
const LABELS = { tollgate: 'tollgate (API only, like the peers)', tollgate_with_assets: 'tollgate as shipped (asset router in front)', tollgate_generated_entry: 'tollgate (API only) with worker-build\'s generated entry', bare: 'bare (does nothing; on /me, one KV read)' };
const label = (n) => LABELS[n] ?? n;
/**
 * What the thin entry saves against worker-build's generated one, from the /health runs of the
 * same build with each (section 1).
 */
function entryPhrase(floor) {
  const thin = floor?.tollgate?.cpu_ms_per_request.workerd;
  const generated = floor?.tollgate_generated_entry?.cpu_ms_per_request.workerd;
  if (thin === undefined || generated === undefined) return 'the generated entry was not measured in this run';
  const diff = generated >= thin ? `${num(generated - thin, 2)} ms less` : `**${num(thin - generated, 2)} ms more**, so in this run the thin entry did not pay for itself`;
  return `measured side by side on /health in this run, the generated entry costs ${num(generated, 2)} ms of workerd CPU per request and the thin one ${num(thin, 2)} ms, ${diff}, with ${num(floor.tollgate_generated_entry.rps_median)} against ${num(floor.tollgate.rps_median)} req/s (section 1)`;
}
/** workerd CPU ms per request of one server in one comparison. */
const wd = (d) => d.cpu_ms_per_request.workerd;
/** What the asset router costs workerd per request on one comparison: as shipped minus API only. */
const routerMs = (data) => wd(data.tollgate_with_assets) - wd(data.tollgate);
/** A difference of two CPU figures in ms, to 2 places, without a "-0.00". */
const diffMs = (x) => num(Math.abs(x) < 0.005 ? 0 : x, 2);
/** The next lever for each kind of missed figure: what to change, named from the measurements. */
const LEVERS = {
  crossings: '**Done in this round, and measured:** the built Worker\'s default export is a plain module handler (scripts/thin-entry.mjs) instead of worker-build\'s Proxies around a class constructed per request (ENTRY); KV is called directly (worker/src/kv_binding.rs) and a request\'s storage calls share one timer (worker/src/storage_timer.rs), which took the calls out of the wasm on /me from 38 to 25 and on a refresh from 160 to 79 (section 7). **Next lever:** the stateless route\'s ten calls are the fixed cost of any request through workers-rs (its `Request` wrapper reads the method, the URL and the headers one call each, the answer is built in one, and the future is scheduled on the microtask queue); a request adapter that hands the wasm the method, the URL and the two headers it needs in one call is what is left to try.',
  login: '**What dominates:** besides the storage round trips (section 7: the email index, the user record, the new family), the profile above shows the security event\'s log line (`__wbg_log`, several per cent of a login\'s busy time): under `wrangler dev` every console line crosses to wrangler through the inspector, which a deployed Worker without a tail does not pay. **Next lever:** fold what storage calls can be folded (one Durable Object call for the throttle and the success when throttling is on, no re-read of what the login already read). Writing the event lines after the response, from `waitUntil`, would shorten a deployed login but not this figure: here one connection sends the next login as soon as the answer arrives, and it would wait for the deferred line in the same isolate.',
  client: '**Next lever:** the client\'s own JavaScript: its unminifiable names (the public API), and code every app pays for whether it uses it or not (recovery, sessions, the tab channel); splitting rarely used methods into a second entry point would let bundlers drop them.',
  load_64_vs_8: '**What dominates:** under `wrangler dev` one workerd process serves every connection on this 2-core machine, with wrk on the same cores; past saturation more connections only queue. **Next lever:** compare Hono\'s ratio in the same run (section 10): if both fall alike, the limit is the runtime and the machine, not Tollgate.',
  scale: '**What dominates:** local KV is SQLite under workerd; a read by key does not scan, so a difference here is the larger state\'s cache misses. **Next lever:** look at the p99 column (section 11): a growing tail with a flat p50 points at the page cache, not at Tollgate\'s code.',
  worker_size: '**What dominates:** this round\'s features (recovery, providers, second factors, passkeys) added their flows, their records\' fields and their text. The largest single function is the Worker\'s request future, with every handler\'s state machine inlined into it (section 6, "Largest functions"); next come the deserializers of the requests the Worker sends its Durable Objects (a user\'s sequencer request and a record change, each with the user record\'s fields), and about two thirds of the data section is text (error details, log lines, field names). **Levers to try next:** one deserializer for the user record, not inlined into each request type; error details looked up by code from one table instead of a sentence at each site; and the rarely used flows (provider sign-in, passkey registration, the admin pages) behind a boxed future each, measured for what that saves in the main future.',
  argon2: '**Next lever:** a wasm SIMD path in argon2\'s block function (BLAKE2b\'s rounds over 128-bit lanes with `core::arch::wasm32`, as its AVX2 path works over 256-bit ones), best written upstream in RustCrypto\'s password-hashes, where every wasm user would get it and its reviewers would check it. Building the Worker with `-C target-feature=+simd128` alone, leaving the vectorising to the compiler, was tried in this round and made the hash slower in workerd, so it is not on.',
  login_vs_fastapi: '**Next lever:** the hash is most of the gap, and at the same parameters a wasm argon2 would have to beat argon2-cffi\'s native C, which the same Rust code compiled natively does not do either (section 4); what is left to take off is section 4\'s lever for the hash and the login overhead\'s (below) for the rest.',
  me_vs_fastapi: '**Next lever:** none that Tollgate controls reaches 3×: the runtime\'s own cost per request is the floor above, paid by any Worker; Tollgate\'s own share above that floor has the levers of the comparison with Hono (section 1).',
  cold_start: '**What dominates:** compiling the wasm, which grows with its size (section 6). **Next lever:** a smaller wasm (section 6 lists the crates by size), and doing less at instantiation (the configuration is parsed at the first request, not at start).',
};
const plot = (file, alt) => { if (existsSync(join(ROOT, 'bench/results', file))) w(`![${alt}](bench/results/${file})\n`); };

w('# Benchmarks');
w();
w(`Generated by \`make bench\` (bench/run.sh) on ${r.generated_at.slice(0, 16).replace('T', ' ')} UTC in ${Math.round(r.duration_seconds / 60)} minutes of measuring; do not edit: rerun it. Raw results: [bench/results/latest.json](bench/results/latest.json).${r.quick ? ' **This was a quick run (BENCH_QUICK=1): too few repetitions to quote.**' : ''}${r.sizes_measured_at && r.sizes_measured_at > r.generated_at ? ` The sizes (sections 5 and 6, and their goals) were measured again by \`make sizes\` on ${r.sizes_measured_at.slice(0, 16).replace('T', ' ')} UTC.` : ''}`);
w();
w(`Every comparison ran on one machine in one run, on loopback only, with bounded request counts and durations. Each figure is the median of repeated, interleaved runs; the goals are ratios to a peer measured in the same run, because absolute numbers on a shared machine are noisy: the load average was ${r.machine.load_average_at_start.join(' / ')} (1/5/15 min) at the start and ${r.machine.load_average_at_end.join(' / ')} at the end, on ${r.machine.cores} cores.`);
w();

w('## Goals');
w();
table(['Figure', 'Tollgate', 'Peer (same run)', 'Ratio or value', 'Goal', 'Verdict'], r.figures.map((f) => [
  f.figure,
  f.value === null ? '–' : `${num(f.tollgate, f.digits ?? (f.unit === 'ms' || f.unit === 's' || f.unit === 'KiB' ? 1 : 0))} ${f.unit}${f.with_assets ? ` (API only; as shipped ${num(f.with_assets.tollgate, 0)} ${f.unit})` : f.server === 'tollgate_with_assets' ? ' (as shipped)' : ''}`,
  f.peer === undefined ? '–' : `${f.peer_name}: ${num(f.peer, f.digits ?? (f.unit === 'ms' ? 1 : 0))} ${f.unit}`,
  f.kind === 'reported' ? f.reported : f.value === null ? `skipped: ${f.skipped}` : f.kind === 'share' ? `**${pct(f.value)}** (${f.detail})` : f.kind === 'ratio'
    ? `**${num(f.value, 2)}×**${f.ratio_of_medians !== undefined ? ` (of medians ${num(f.ratio_of_medians, 2)}×${f.cpu_ratio !== undefined ? `; by CPU per request ${num(f.cpu_ratio, 2)}×` : ''})` : ''}${f.with_assets ? `; as shipped, with the asset router: ${num(f.with_assets.value, 2)}× (by CPU per request ${num(f.with_assets.cpu_ratio, 2)}×)` : ''}`
    : f.detail ?? `${num(f.value, f.unit === 's' || f.unit === 'KiB' ? 1 : 0)} ${f.unit}`,
  f.kind === 'reported' ? 'reported side by side' : f.goal_text ? f.goal_text : f.goal === null || f.value === null ? '–' : f.kind === 'share' ? `≤ ${pct(f.goal)} of the hash` : `${{ '>=': '≥', '<': '<' }[f.op] ?? '≤'} ${num(f.goal, f.kind === 'ratio' && f.goal % 1 ? 1 : 0)}${f.kind === 'ratio' ? '×' : ` ${f.unit}`}`,
  f.kind === 'reported' ? 'reported' : verdict(f),
]));
if (r.figures.some((f) => f.with_assets)) w('The throughput goals are judged on Tollgate\'s API-only configuration, like for like with the peers, none of which serves static files; the ratio of Tollgate as shipped, with wrangler\'s asset router in front of it, is given beside each ([How it is measured](#how-it-is-measured-and-what-is-fair-about-it)). Login latency is measured on Tollgate as shipped.\n');
const missed = r.figures.filter((f) => f.met === false);
const skipped = r.figures.filter((f) => f.met === null && f.kind !== 'reported');
if (missed.length) w(`**${missed.length} goal${missed.length > 1 ? 's are' : ' is'} missed** in this run: ${missed.map((f) => f.id).join(', ')}. Each is an open problem; [What dominates the missed figures](#what-dominates-the-missed-figures) shows the profile behind each.\n`);
if (skipped.length) w(`**Not measured in this run:** ${skipped.map((f) => `${f.id} (${f.skipped})`).join('; ')}.\n`);

w('## Machine and versions');
w();
const m = r.machine;
table(['', ''], [
  ['CPU', `${m.cpu}, ${m.cores} cores`], ['Memory', `${m.memory_gib} GiB`], ['OS', `${m.os}, Linux ${m.kernel}`],
  ...Object.entries(r.versions).filter(([, v]) => v).map(([k, v]) => [k, `\`${v}\``]),
  ...(r.client && !r.client.skipped ? [['Chromium', `\`${r.client.browser}\``]] : []),
]);

w('## How it is measured, and what is fair about it');
w();
w(`- **Servers.** Tollgate's release Worker (\`make worker\`; twice, API only and as shipped, see below), the Hono peer (bench/peers/hono) and the do-nothing Worker (bench/peers/bare) each run under their own \`wrangler dev --local\` (workerd + local KV) with identical flags, including \`--log-level ${r.setup.wrangler_log_level}\` so that wrangler prints no line per request for any. wrangler dev's local proxy sits in front of workerd for all of them, so its cost is on both sides of every ratio. The FastAPI peer (bench/peers/fastapi) runs under uvicorn with one worker process, uvloop and httptools, and no access log: its fastest ordinary configuration.`);
w('- **Same work.** One user registers through Tollgate as shipped; that `user:{id}` KV record is copied byte for byte into the local KV of the API-only Tollgate server and of the Hono peer (`wrangler kv key put`, before each starts) and into the FastAPI peer\'s in-process dict. All of them verify HS256 with the same secret and check the same claims (iss, aud, exp/nbf/iat, header typ `at+jwt`), so one Tollgate-issued token is sent to all of them. `bench/peers/equivalence.test.mjs`, run before every benchmark, checks that each peer accepts the same 3 tokens as the API-only Tollgate server and rejects the same 10 tampered or ill-formed ones, and that /me and /auth/claims return identical JSON; `make bench` refuses to report if it fails.');
w('- **Conservative for Tollgate.** The FastAPI peer keeps users in a dict, so its /me costs a dict lookup where Tollgate and Hono read Workers KV. Its login verifies the password and signs a token, while Tollgate\'s login also records the success with its login-throttle Durable Object and writes a refresh-token family to KV (the calls are counted in section 7, with the same vars as the benchmarked server). Tollgate allows 30 s of clock leeway and Hono none; that only matters for tokens within 30 s of expiry, and none are.');
w(`- **Load.** wrk (one thread, ${r.plan.connections} connections) on loopback; each server is warmed up for ${r.plan.warmupSeconds} s, then ${r.plan.runs} runs of ${r.plan.seconds} s each, interleaved between servers (A B C, B C A, ...) so that load from elsewhere on the machine hits them alike. Login latency: one connection, successful logins only, ${r.plan.loginRuns} interleaved runs of ${r.plan.loginSeconds} s each after ${r.plan.loginWarmupSeconds} s of warm-up logins; both Tollgate servers run with \`${Object.entries(r.setup.tollgate_vars).map(([k, v]) => `${k}:${v}`).join(' ')}\` (0 disables throttling; calibration only adds the hashing endpoint). With some 50 to 200 logins per run, a run's p99 is close to its maximum.`);
w(`- **Ratios.** Each ratio in the goals table is the median over rounds of the two servers' figures measured back to back in the same round (a paired ratio), which the coming and going of other load on a shared machine disturbs less than the ratio of the two medians; that one is shown beside it. For the HTTP comparisons a third estimate is shown: the inverse ratio of the CPU time each server's processes spent per request, which is close to what throughput would be on an idle machine where each server could have a whole core. Where these disagree, the machine was busy: the CPU figure is the steadiest.`);
if (r.http?.floor?.tollgate_with_assets && r.http.stateless.tollgate_with_assets) {
  const h = r.http;
  w(`- **Tollgate twice: API only, and as shipped.** The comparisons with the peers use Tollgate's API-only configuration: the same build, the same bindings, vars and secret, with the whole \`[assets]\` table of wrangler.toml removed (bench/lib/servers.mjs, \`TOLLGATE_API_CONFIG\`). No peer serves static files, and under \`wrangler dev\` an \`[assets]\` section puts wrangler's asset router worker (JavaScript, in the same workerd process) in front of the Worker on every request; in production Cloudflare's assets layer runs ahead of the Worker, and its work is not Worker CPU. Tollgate as shipped (the root wrangler.toml, with its demo page and Swagger UI) is measured beside it in the same interleaved rounds. It sends the API paths straight to the Worker (\`run_worker_first\`), so no file is looked up for them; what it still pays over the API-only configuration is the hop through the router worker. In this run that hop cost, in workerd CPU per request, ${routerPhrase(h.floor)} on /health and ${routerPhrase(h.stateless)} on /auth/claims${h.me.tollgate_with_assets ? `, and ${routerPhrase(h.me)} on /me` : ''}. Login (section 3) and the hash timing (section 4) run on Tollgate as shipped, where the user registered and its email index is.`);
}
w('- **CPU per request** in the tables is the CPU time (user + system, from /proc) each process of a server used during a run, divided by the requests served: it tells where the work went (workerd, or wrangler\'s node process).');
w();

if (r.http) {
  const h = r.http;
  const httpTable = (data) => table(['Server', 'Median req/s', 'Runs (req/s)', 'p50 / p99 latency', 'CPU ms per request'], Object.entries(data).map(([n, d]) => [
    label(n), `**${num(d.rps_median)}**`, d.rps_runs.map((x) => num(x)).join(', '), `${num(d.latency_p50_us_median / 1000, 1)} / ${num(d.latency_p99_us_median / 1000, 1)} ms`,
    Object.entries(d.cpu_ms_per_request).map(([k, v]) => `${k} ${num(v, 2)}`).join(', '),
  ]));
  w('## 1. Protected route throughput: stateless HS256 verify');
  w();
  w('`GET /auth/claims` on Tollgate (verify the bearer token, answer its claims, no storage) against the same route on the Hono Worker (Hono\'s `jwt` middleware). Tollgate runs twice: API only, the configuration judged against the peers, and as shipped, with wrangler\'s asset router in front (see [How it is measured](#how-it-is-measured-and-what-is-fair-about-it)).');
  w();
  httpTable(h.stateless);
  const cpuRatio = (data, a, b) => data[b].cpu_ms_per_request.workerd / data[a].cpu_ms_per_request.workerd;
  const shippedRatio = (f) => (f.with_assets ? ` As shipped, with the asset router in front: ${num(f.with_assets.value, 2)}×` : '');
  w(`Ratio Tollgate (API only) / Hono: **${num(fig('stateless_vs_hono').value, 2)}×** (goal ≥ ${num(fig('stateless_vs_hono').goal, 1)}×, ${verdict(fig('stateless_vs_hono'))}). The same ratio from workerd CPU per request (Hono's ms ÷ Tollgate's ms), which load from elsewhere on the machine disturbs less than throughput: ${num(cpuRatio(h.stateless, 'tollgate', 'hono'), 2)}×.${shippedRatio(fig('stateless_vs_hono'))}${h.stateless.tollgate_with_assets ? `, or ${num(cpuRatio(h.stateless, 'tollgate_with_assets', 'hono'), 2)}× from workerd CPU per request.` : ''}`);
  w();
  if (h.floor) {
    w('The floor under both Workers: `GET /health`, no token and no storage, served by the same routing and response code as every other route of each Worker:');
    w();
    httpTable(h.floor);
    const dT = wd(h.stateless.tollgate) - wd(h.floor.tollgate);
    const dH = wd(h.stateless.hono) - wd(h.floor.hono);
    // Within a fifth of the floor, a difference is within this machine's run-to-run spread.
    const small = (d, floor) => Math.abs(d) < 0.2 * floor;
    const check = small(dT, wd(h.floor.tollgate)) && small(dH, wd(h.floor.hono))
      ? 'within this run\'s spread, verifying the token adds nothing measurable on either side: the gap is in serving a request at all, not in verifying the token'
      : `verifying the token adds ${num(dT, 2)} ms for Tollgate and ${num(dH, 2)} ms for Hono`;
    w(`Ratio Tollgate (API only) / Hono on /health: **${num(h.floor.tollgate.rps_median / h.floor.hono.rps_median, 2)}×** in throughput; in workerd CPU per request, ${num(wd(h.floor.tollgate), 2)} ms against ${num(wd(h.floor.hono), 2)} ms. On /auth/claims the same CPU figures are ${num(wd(h.stateless.tollgate), 2)} and ${num(wd(h.stateless.hono), 2)} ms: ${check}.`);
    w();
    if (h.floor.tollgate_with_assets && h.stateless.tollgate_with_assets) {
      w(`Tollgate as shipped (the same build, with wrangler's asset router worker in front) serves ${num(h.floor.tollgate_with_assets.rps_median)} req/s on /health and ${num(h.stateless.tollgate_with_assets.rps_median)} on /auth/claims; the router costs it, in workerd CPU per request, ${routerPhrase(h.floor)} on /health and ${routerPhrase(h.stateless)} on /auth/claims.`);
      w();
    }
    if (h.floor.tollgate_generated_entry) {
      w(`Which JavaScript entry ships: the same build with worker-build's generated entry (a Proxy around a class constructed per request) in place of the thin one that ships (scripts/thin-entry.mjs): ${entryPhrase(h.floor)}.`);
      w();
    }
    if (h.floor.bare) {
      w(floorSentence(h, 'stateless'));
      w();
    }
  }
  w('## 2. `/me` throughput: verify + one KV read');
  w();
  httpTable(h.me);
  const asShipped = (f) => (f.with_assets ? `; as shipped, with the asset router in front, ${num(f.with_assets.value, 2)}×` : '');
  w(`Ratios: Tollgate (API only) / Hono **${num(fig('me_vs_hono').value, 2)}×** (goal ≥ ${num(fig('me_vs_hono').goal, 1)}×, ${verdict(fig('me_vs_hono'))}; as workerd CPU per request, ${num(cpuRatio(h.me, 'tollgate', 'hono'), 2)}×${asShipped(fig('me_vs_hono'))}); Tollgate (API only) / FastAPI **${num(fig('me_vs_fastapi').value, 2)}×** (goal ≥ 3×, ${verdict(fig('me_vs_fastapi'))}${asShipped(fig('me_vs_fastapi'))}).${h.me.tollgate_with_assets ? ` The asset router costs Tollgate as shipped ${routerPhrase(h.me)} of workerd CPU per request here.` : ''}`);
  w();
  if (h.me.bare) {
    w(floorSentence(h, 'me'));
    w();
  }
  plot('throughput.svg', 'Throughput of the stateless route and /me');
  plot('route-latency.svg', 'Latency under load of the stateless route and /me');
  w('## 3. Login latency at m=19456, t=2, p=1');
  w();
  const lt = h.login.tollgate_with_assets;
  w(`Tollgate is measured as shipped here: the user registered on that server, so its email index is there (the API-only server holds only the copied user record, enough for /me).${h.floor?.tollgate_with_assets ? ` The asset router in front of it cost ${num(routerMs(h.floor), 2)} ms of workerd CPU per request on /health (section 1), ${pct(routerMs(h.floor) / lt.p50_ms)} of Tollgate's login p50.` : ''}`);
  w();
  table(['Server', 'p50', 'p99', 'p50 runs', 'p99 runs', 'Logins', 'CPU ms per login'], Object.entries(h.login).map(([n, d]) => [
    label(n), `**${num(d.p50_ms, 1)} ms**`, `**${num(d.p99_ms, 1)} ms**`, d.p50_ms_runs.map((x) => num(x, 1)).join(', '), d.p99_ms_runs.map((x) => num(x, 1)).join(', '), d.logins,
    Object.entries(d.cpu_ms_per_request).map(([k, v]) => `${k} ${num(v, 1)}`).join(', '),
  ]));
  w(`Ratios Tollgate (as shipped) / FastAPI: p50 **${num(fig('login_p50').value, 2)}×**, p99 **${num(fig('login_p99').value, 2)}×** (goal ≤ 1×: p50 ${verdict(fig('login_p50'))}, p99 ${verdict(fig('login_p99'))}).`);
  w();
  plot('login-latency.svg', 'Login latency');
}

if (r.hashing) {
  const x = r.hashing;
  w('## 4. argon2id hash time: wasm in workerd vs native');
  w();
  w('The Worker\'s own wasm hashes inside workerd (Tollgate as shipped, like login) through `POST /__tollgate/calibrate` (enabled only by the var `TOLLGATE_CALIBRATION=enabled`): the wall time of a request with `count` hashes minus that of a request with `count=0`, divided by `count`. Natively, `bench/native-argon2` times the RustCrypto `argon2` crate, the version the Worker ships, calling `hash_password_into` as tollgate-core does, built at opt-level 3 for x86-64 (AVX2 chosen at run time by the crate). The two alternate round by round (workerd, then native), so load from elsewhere on the machine falls on both; each figure is the median over rounds. argon2-cffi is what the FastAPI peer uses.');
  w();
  table(['Implementation', 'Median ms per hash', 'Runs (ms)'], [
    ['workerd, the Worker\'s wasm', `**${num(x.workerd_wasm_ms.median, 1)}**`, x.workerd_wasm_ms.runs.map((v) => num(v, 1)).join(', ')],
    ['native argon2 crate (peer)', `**${num(x.native_argon2_crate_ms.median, 1)}**`, x.native_argon2_crate_ms.runs.map((v) => num(v, 1)).join(', ')],
    ['argon2-cffi (FastAPI peer)', num(x.argon2_cffi_ms.median, 1), x.argon2_cffi_ms.runs.map((v) => num(v, 1)).join(', ')],
  ]);
  w(`Ratio wasm in workerd / native argon2: **${num(fig('argon2_wasm_vs_native').value, 2)}×** (goal ≤ 1.3×, ${verdict(fig('argon2_wasm_vs_native'))}).`);
  w();
  plot('argon2.svg', 'argon2id hash time');
}

w('## 5. Browser client: decode speed and size');
w();
if (!r.client || r.client.skipped) {
  w(`**Skipped in this run:** ${r.client?.reason ?? 'not run'}. The harness (bench/sections/client.mjs, bench/browser/) measures it as soon as \`make client\` builds a package with \`decodeClaims\` into npm/dist: it decodes one real Tollgate access token with \`decodeClaims\`, jose's \`decodeJwt\` and jwt-decode's \`jwtDecode\` in the same headless Chromium page (Debian's chromium through playwright-core), and gzips the package.`);
  w();
} else {
  const c = r.client;
  w(`One real Tollgate access token (${c.token_bytes} characters), decoded in the same headless Chromium page by each library, in ${r.plan.decodeRounds} interleaved rounds of ${r.plan.decodeSliceMs} ms per library after a warm-up; the page first checks that all three return the same claims.`);
  w();
  table(['Library', 'Median decodes/s', 'Rounds'], Object.entries(c.decode).map(([n, d]) => [n, `**${num(d.ops_per_second)}**`, d.ops_per_second_runs.map((v) => num(v)).join(', ')]));
  w(`Ratios: vs jose **${num(fig('decode_vs_jose').value, 2)}×** (goal ≥ 1×, ${verdict(fig('decode_vs_jose'))}); vs jwt-decode **${num(fig('decode_vs_jwt_decode').value, 2)}×** (goal ≥ 10×, ${verdict(fig('decode_vs_jwt_decode'))}).`);
  w();
  plot('client-decode.svg', 'Client decode speed');
  const s = c.size;
  table(['Part (gzip -9)', 'Raw', 'Gzipped'], [
    ['wasm (the module itself, for reference)', `${num(s.wasm_bytes)} B`, `${num(s.wasm_gzip)} B`],
    ...(s.embedded_bytes === undefined ? [] : [['the wasm as shipped: hex in dist/wasm/tollgate_client_bytes.js', `${num(s.embedded_bytes)} B`, `${num(s.embedded_gzip)} B`]]),
    ['wasm-bindgen glue (dist/wasm/tollgate_client.js)', `${num(s.glue_bytes)} B`, `${num(s.glue_gzip)} B`],
    ['**wasm + glue, as shipped**', '', `**${num(s.wasm_and_glue_gzip)} B**`],
    ['**what a browser downloads: all of the package from its entry, wasm included, bundled and minified (esbuild)**', `${num(s.package_js_bundled_bytes)} B`, `**${num(s.package_total_gzip)} B**`],
    ...(s.react_gzip === undefined ? [] : [['@tollgate/react, bundled and minified with react and the client left out (npm-react/scripts/size.mjs)', `${num(s.react_minified_bytes)} B`, `${num(s.react_gzip)} B`]]),
  ]);
  w(`The goal (≤ 8 KB, stretch 5 KB) is judged on the last line, the larger: ${verdict(fig('client_size'))}.`);
  w();
}

if (r.size) {
  const s = r.size;
  w('## 6. Worker upload size');
  w();
  w(`\`wrangler deploy --dry-run\` (offline; nothing is uploaded) reports **${num(s.wrangler_total_kib, 1)} KiB, ${num(s.wrangler_gzip_kib, 1)} KiB gzipped** (goal ≤ ${fig('worker_size').goal} KiB gzipped, ${verdict(fig('worker_size'))}). The uploaded modules, gzipped here at level 9:`);
  w();
  table(['Module', 'Raw', 'Gzipped'], s.modules.map((x) => [x.file, kib(x.bytes), kib(x.gzip)]));
  w(`What the wasm is made of (${s.tool}). Sections:`);
  w();
  table(['Section', 'Raw'], s.wasm.sections.filter((x) => x.bytes > 1000).map((x) => [x.name, kib(x.bytes)]));
  w('Share of the gzipped wasm (measured by gzipping the module without each part):');
  w();
  const gzTotal = Object.values(s.wasm.gzip_by_part).reduce((a, b) => a + b, 0);
  table(['Part', 'Gzipped', 'Share'], Object.entries(s.wasm.gzip_by_part).map(([k, v]) => [k, kib(v), pct(v / gzTotal)]));
  if (s.wasm.data_embedded_files?.length) {
    w(`Files embedded by the Rust code that are in the ${kib(s.wasm.data_bytes)} data section: ${s.wasm.data_embedded_files.map((f) => `\`${f.file}\` (${kib(f.bytes)}, ${kib(f.gzip)} gzipped)`).join(', ')}.`);
    w();
  }
  w(`Function bodies by crate, from the function names of ${s.wasm.code_by_crate_source}:`);
  w();
  table(['Crate', 'Code', 'Share of code', 'Functions'], s.wasm.code_by_crate.map((c) => [`\`${c.crate}\``, kib(c.bytes), pct(c.bytes / s.wasm.code_by_crate_total), c.functions]));
  w('Largest functions:');
  w();
  table(['Bytes', 'Function'], s.wasm.top_functions.map((f) => [num(f.bytes), `\`${(f.name.startsWith('_ZN') ? demangleLegacy(f.name) : f.name).slice(0, 110).replace(/\|/g, '\\|')}\``]));
}

if (r.kv_ops) {
  w('## 7. KV operations per request');
  w();
  w(`Observed for real: ${r.kv_ops.method}. Reads are KV \`get\`s, writes \`put\`s; Durable Object calls are the login throttle's and the user-record and email-claim objects'.`);
  w();
  const envCol = Object.values(r.kv_ops.flows).some((f) => f.env_reads !== undefined);
  const wasmCol = Object.values(r.kv_ops.flows).some((f) => f.wasm_calls !== undefined);
  table(['Request', 'KV reads', 'KV writes', 'KV deletes', 'KV lists', 'Durable Object calls', ...(envCol ? ['`env` reads'] : []), ...(wasmCol ? ['Calls out of the wasm'] : []), 'Calls in order'], Object.entries(r.kv_ops.flows).map(([n, f]) => [
    n, f.reads, f.writes, f.deletes, f.lists, f.durable_object_calls, ...(envCol ? [f.env_reads] : []), ...(wasmCol ? [f.wasm_calls ?? '–'] : []), `\`${f.calls.filter((c) => !/THROTTLE\.(idFromName|get)/.test(c)).join(', ') || '(none)'}\``,
  ]));
  if (envCol) w('`env` reads counts every property the Worker reads off its `env` object during the request (vars, secrets and bindings): each is a call out of the wasm, and a string var is then copied into it.\n');
  if (wasmCol) {
    w('Calls out of the wasm counts every call the Worker\'s wasm made into JavaScript (its wasm-bindgen imports: reading a header, setting a property, awaiting a promise, building the response) while answering, counted by wrapping each import (bench/kv-observer/count-wasm-calls.mjs). Each crosses the wasm boundary, and most copy a string one way or the other. \`generic\` is wasm-bindgen wrapping a Rust closure as a JavaScript function (the callbacks of an awaited promise, a timer callback), \`_wbg_cb_unref\` the release of one; \`get\` and \`set\` are property and header reads and writes. The most frequent, by request:\n');
    table(['Request', 'Most frequent calls out of the wasm'], Object.entries(r.kv_ops.flows).filter(([, f]) => f.wasm_calls_by_name).map(([n, f]) => [
      n, Object.entries(f.wasm_calls_by_name).slice(0, 6).map(([k, v]) => `\`${k}\` ${v}`).join(', '),
    ]));
  }
  w(`Goals: stateless route 0 (${verdict(fig('kv_stateless'))}), /me exactly 1 read (${verdict(fig('kv_me'))}), refresh at most 3 reads + 2 writes (${fig('kv_refresh').detail}: ${verdict(fig('kv_refresh'))}).`);
  w();
}

if (r.modes) {
  const m = r.modes;
  w('## 7b. Consistency modes and access-token revocation, side by side');
  w();
  w('Two API-only Tollgate servers of the same build, one with `CONSISTENCY=eventual` (the default) and one with `strict` (README, "Consistency modes"), measured in the same run (bench/sections/modes.mjs): logins and refreshes one at a time from Node, alternating between the servers in short blocks (a refresh presents the cookie the previous one set), `/me` latency the same way. Durable Object calls per request come from section 7\'s observer, run in both modes. Under `wrangler dev` every object is local, so strict mode\'s cost here is the object call itself; in production it is a round trip to wherever the user\'s object lives.');
  w();
  const dos = (mode, flow) => {
    const f = (mode === 'strict' ? r.kv_ops_strict : r.kv_ops)?.flows?.[flow];
    return f ? `${f.durable_object_calls} (KV: ${f.reads} reads, ${f.writes} writes)` : '–';
  };
  const c = m.consistency;
  table(['Request', 'eventual p50 / p90', 'strict p50 / p90', 'strict / eventual (p50)', 'eventual: object calls', 'strict: object calls'], [
    ['login', `${num(c.login.eventual.p50_ms, 1)} / ${num(c.login.eventual.p90_ms, 1)} ms`, `${num(c.login.strict.p50_ms, 1)} / ${num(c.login.strict.p90_ms, 1)} ms`, `${num(c.login.strict.p50_ms / c.login.eventual.p50_ms, 2)}×`, dos('eventual', 'login'), dos('strict', 'login')],
    ['refresh', `${num(c.refresh.eventual.p50_ms, 2)} / ${num(c.refresh.eventual.p90_ms, 2)} ms`, `${num(c.refresh.strict.p50_ms, 2)} / ${num(c.refresh.strict.p90_ms, 2)} ms`, `${num(c.refresh.strict.p50_ms / c.refresh.eventual.p50_ms, 2)}×`, dos('eventual', 'POST /auth/refresh'), dos('strict', 'POST /auth/refresh')],
    ['`GET /me`', `${num(c.me_latency.eventual.p50_ms, 2)} / ${num(c.me_latency.eventual.p90_ms, 2)} ms`, `${num(c.me_latency.strict.p50_ms, 2)} / ${num(c.me_latency.strict.p90_ms, 2)} ms`, `${num(c.me_latency.strict.p50_ms / c.me_latency.eventual.p50_ms, 2)}×`, dos('eventual', 'GET /me'), dos('strict', 'GET /me')],
  ]);
  w(`\`/me\` throughput under wrk (${r.plan.connections} connections, up to 3 runs of ${r.plan.seconds} s per server): eventual ${num(c.me_throughput.eventual.rps_median)} req/s, strict ${num(c.me_throughput.strict.rps_median)} req/s (both read the KV replica).`);
  w();
  const a = m.access_token_revocation.claims;
  w(`\`ACCESS_TOKEN_REVOCATION\`: \`/auth/claims\` throughput with \`expiry\` (signature only) ${num(a.expiry.rps_median)} req/s, with \`session\` (plus one KV read of the user record) ${num(a.session.rps_median)} req/s: **${num(a.session.rps_median / a.expiry.rps_median, 2)}×** (median of ${a.expiry.rps_runs.length} interleaved runs each).`);
  w();
}

w('## 8. `tollgate import` of 100,000 lines');
w();
if (!r.import || r.import.skipped) {
  w(`**Pending:** ${r.import?.reason ?? 'not run'}. Once the CLI's \`import\` command and its timing script (bench/cli/import-100k.mjs) are on this branch, \`make bench\` runs it (release build, 100,000 generated lines, 3 runs, median) and reports the figure here.`);
} else {
  const x = r.import;
  w(`Release build, ${num(x.lines)} generated lines (${num(x.imported)} imported, ${num(x.rejected)} rejected on purpose), ${x.runs} runs: median **${num(x.median_seconds, 2)} s** (min ${num(x.min_seconds, 2)}, max ${num(x.max_seconds, 2)}; ${num(x.lines_per_second)} lines/s; goal < 10 s, ${verdict(fig('import_100k'))}). Measured by bench/cli/import-100k.mjs, the CLI branch's script.`);
}
w();

w('## 9. The core natively (criterion)');
w();
if (r.core) {
  w('`bench/core` runs tollgate-core\'s own code with criterion, built as a native server would ship it (opt-level 3): the per-request costs the core decides, without the Worker around them. Median per operation, with criterion\'s 95% interval.');
  w();
  w('| Operation | What | Median | 95% interval |');
  w('|---|---|---|---|');
  const t = (ns) => (ns >= 1e6 ? `${num(ns / 1e6, 2)} ms` : ns >= 1e3 ? `${num(ns / 1e3, 2)} µs` : `${num(ns, 0)} ns`);
  for (const row of r.core) w(`| \`${row.id}\` | ${row.what} | **${t(row.median_ns)}** | ${t(row.low_ns)} – ${t(row.high_ns)} |`);
} else {
  w('**Not run** in this report.');
}
w();


if (r.load) {
  w('## 10. Load: `/me` at 1, 8 and 64 connections');
  w();
  w(`wrk against the API-only Tollgate server and the Hono peer, ${r.plan.loadRounds} interleaved rounds of ${r.plan.seconds} s at each connection count (bench/sections/load.mjs). The goal is no collapse under concurrency: at 64 connections at least 0.9 of the throughput at 8.`);
  w();
  table(['Server', ...[1, 8, 64].map((c) => `${c} conn.: req/s (p50 / p99 ms)`)], Object.entries(r.load).map(([n, d]) => [
    label(n), ...[1, 8, 64].map((c) => `**${num(d[c].rps_median)}** (${num(d[c].p50_ms, 1)} / ${num(d[c].p99_ms, 1)})`),
  ]));
  const f = fig('load_64_vs_8');
  w(`Tollgate at 64 connections / at 8: **${num(f.value, 2)}×** (goal ≥ 0.9×, ${verdict(f)}).${r.load.hono ? ` Hono: ${num(r.load.hono[64].rps_median / r.load.hono[8].rps_median, 2)}×.` : ''}`);
  w();
  plot('load.svg', 'Throughput and p99 latency against connections');
}

if (r.scale) {
  const sc = r.scale;
  const [small, large] = sc.users;
  const a = sc.by_users[small];
  const b = sc.by_users[large];
  w(`## 11. Scale: ${num(small)} users vs ${num(large)}`);
  w();
  w(`Two API-only Tollgate servers, one on a local KV state with ${num(small)} users and one with ${num(large)} (each with its email index), both made by \`tollgate import\` and measured in interleaved rounds (bench/sections/scale.mjs). Each login is a different one of ${num(sc.sample)} randomly chosen users, each refresh the first of one of those sessions, and \`/me\` cycles through those users' tokens, so every figure reads many users' records rather than one again and again. The admin listing is timed per page over its first pages, and paged through to the end once.`);
  w();
  table(['Request', `${num(small)} users`, `${num(large)} users`, 'Ratio', 'Goal', 'Verdict'], [
    ['login p50 (p99)', `${num(a.login.p50_ms, 1)} (${num(a.login.p99_ms, 1)}) ms`, `${num(b.login.p50_ms, 1)} (${num(b.login.p99_ms, 1)}) ms`, `**${num(fig('scale_login').value, 2)}×**`, '≤ 1.2×', verdict(fig('scale_login'))],
    ['refresh p50 (p99)', `${num(a.refresh.p50_ms, 1)} (${num(a.refresh.p99_ms, 1)}) ms`, `${num(b.refresh.p50_ms, 1)} (${num(b.refresh.p99_ms, 1)}) ms`, `**${num(fig('scale_refresh').value, 2)}×**`, '≤ 1.2×', verdict(fig('scale_refresh'))],
    ['`/me` req/s (p50 ms)', `${num(a.me.rps_median)} (${num(a.me.p50_ms, 1)})`, `${num(b.me.rps_median)} (${num(b.me.p50_ms, 1)})`, `**${num(fig('scale_me').value, 2)}×** (cost)`, '≤ 1.2×', verdict(fig('scale_me'))],
    ['admin listing, page p50 (p99)', `${num(a.admin_page.p50_ms, 1)} (${num(a.admin_page.p99_ms, 1)}) ms`, `${num(b.admin_page.p50_ms, 1)} (${num(b.admin_page.p99_ms, 1)}) ms`, `**${num(fig('scale_admin_page').value, 2)}×**`, '≤ 1.2×', verdict(fig('scale_admin_page'))],
    ['admin listing, every page', `${a.admin_walk.pages} pages in ${num(a.admin_walk.seconds, 2)} s`, `${b.admin_walk.pages} pages in ${num(b.admin_walk.seconds, 2)} s`, '–', '–', '–'],
  ]);
  plot('scale.svg', 'Cost against the number of users');
}

if (r.cold_start) {
  const c = r.cold_start;
  w('## 12. Cold start: a new workerd to the first response');
  w();
  w(`Each start is a new Miniflare (the workerd \`wrangler dev\` runs, without wrangler's proxy) made from scratch, then one \`GET /health\`: parsing the script, compiling and instantiating the wasm, and the first request are all inside the time. Tollgate runs as \`wrangler deploy\` ships it (worker/build), Hono bundled by esbuild. The do-nothing Worker's time is what starting workerd costs any Worker; each Worker's own cost is its time above that. ${r.plan.coldStartRounds} interleaved rounds; medians (bench/sections/cold-start.mjs).`);
  w();
  const coldLabel = { tollgate: 'Tollgate (worker/build, as deployed)', hono: 'Hono (bundled by esbuild)', bare: 'the do-nothing Worker' };
  table(['Worker', 'Median ms', 'Above the do-nothing Worker', 'Runs (ms)'], Object.entries(c).map(([n, d]) => [coldLabel[n] ?? n, `**${num(d.ms_median, 1)}**`, `${num(d.above_bare_ms, 1)} ms`, d.ms_runs.map((x) => num(x, 0)).join(', ')]));
  w(`Tollgate / Hono above the floor: **${num(fig('cold_start_vs_hono').value, 2)}×** (goal ≤ 3×, ${verdict(fig('cold_start_vs_hono'))}); Tollgate's own ${num(c.tollgate.above_bare_ms, 1)} ms (goal < 100 ms, ${verdict(fig('cold_start_ms'))}).`);
  w();
}

if (missed.length) {
  w('## What dominates the missed figures');
  w();
  // What some wasm-bindgen imports are, with where the call comes from (read in the sources).
  const IMPORTS = {
    __wbg_cf: 'reads `request.cf`, a workerd getter (the time is spent inside it); `worker::Request` (worker 0.8.7) reads it whenever it wraps a runtime request (`impl From<web_sys::Request> for Request`, src/request.rs line 56), which Tollgate\'s fetch handler no longer does (worker/src/incoming.rs)',
    __wbg_respond: 'builds the runtime\'s `Response` from the finished reply in one call (worker/js/respond.js)',
    __wbg_queueMicrotask: 'wasm-bindgen-futures scheduling the Rust future of the request on the microtask queue',
    __wbg_get: '`Reflect.get` / `Headers.get` and the like, among them the configuration cache reading each var and secret off `env`',
    __wbg_set: 'setting response headers and object properties',
  };
  const profileTable = (p) => {
    w(`Busy time by kind: ${Object.entries(p.by_kind_share).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}.`);
    w();
    if (p.top.some((t) => t.kind === 'wasm') && !p.top.some((t) => t.kind === 'wasm' && t.name.includes('::'))) {
      w('The shipped wasm carries no function names (scripts/strip-wasm-names.mjs), so V8 names wasm frames by index; build the Worker with `TOLLGATE_KEEP_WASM_NAMES=1` to profile with names.');
      w();
    }
    table(['Self time', 'Kind', 'Function', 'Where'], p.top.slice(0, 12).map((t) => [pct(t.share), t.kind,
      `\`${t.name.slice(0, 90).replace(/\|/g, '\\|')}\``, t.source ? `\`${t.source.slice(0, 60).replace(/\|/g, '\\|').replace(/`/g, "'")}\`` : t.file || '(native)']));
    const imports = new Map();
    for (const t of p.top) {
      const m = /^(\S+) \(wasm-bindgen import\)$/.exec(t.name);
      if (m) imports.set(m[1], (imports.get(m[1]) ?? 0) + t.share);
    }
    if (imports.size) {
      const total = [...imports.values()].reduce((a, b) => a + b, 0);
      w(`Calls from the Rust code into JavaScript (wasm-bindgen imports) among the ${p.top.length} hottest frames: ${pct(total)} of busy time. ${[...imports.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `\`${k}\` ${pct(v)}${IMPORTS[k] ? `: ${IMPORTS[k]}` : ''}`).join('; ')}.`);
      w();
    }
  };
  const cpuLine = (data, names) => names.filter((n) => data[n]).map((n) => `${label(n)} ${Object.entries(data[n].cpu_ms_per_request).map(([k, v]) => `${k} ${num(v, 2)} ms`).join(' + ')}`).join('; ');
  for (const f of missed) {
    w(`### ${f.figure}: ${f.summary}`);
    w();
    if (['stateless_vs_hono', 'me_vs_hono', 'stateless_cpu_above_floor', 'me_cpu_above_floor'].includes(f.id)) {
      const route = f.id.startsWith('stateless') ? 'stateless' : 'me';
      const data = r.http[route];
      w(`CPU per request during the measured runs: ${cpuLine(data, ['tollgate', 'hono', 'tollgate_with_assets'])}. Almost all of it is inside workerd, so the V8 CPU profiles of the two Workers under the same load (taken through wrangler dev's inspector, outside the measured runs; Tollgate API only, the judged server) show where it goes.${data.tollgate_with_assets ? ` Of Tollgate as shipped's workerd CPU per request, ${routerPhrase(data)} is the asset router in front of it, which no peer has.` : ''}`);
      w();
      if (r.http.floor) {
        const fl = r.http.floor;
        const gap = wd(data.tollgate) - wd(data.hono);
        const floorGap = wd(fl.tollgate) - wd(fl.hono);
        // Within 5% of Hono's figure, call the two the same.
        const where = gap <= 0.05 * wd(data.hono)
          ? `On this route Tollgate (API only) spends ${gap <= 0 ? 'no more' : 'within 5% of the'} workerd CPU per request ${gap <= 0 ? 'than' : 'of'} Hono (${num(wd(data.tollgate), 2)} ms against ${num(wd(data.hono), 2)} ms): the goal is missed without Tollgate doing more work in workerd than Hono.`
          : floorGap <= 0
            ? `The gap on this route (${num(gap, 2)} ms of workerd CPU per request) is not there before a token is looked at: on /health Tollgate (API only) costs ${num(wd(fl.tollgate), 2)} ms against Hono's ${num(wd(fl.hono), 2)} ms.`
            : `${floorGap >= gap ? `All of the gap (${num(gap, 2)} ms of workerd CPU per request) is there before any token is looked at, and more` : `${floorGap >= gap / 2 ? 'Most' : 'Some'} of the gap (${num(floorGap, 2)} of its ${num(gap, 2)} ms of workerd CPU per request) is there before any token is looked at`}: on /health (no auth, no storage) Tollgate (API only) serves ${num(fl.tollgate.rps_median)} req/s against Hono's ${num(fl.hono.rps_median)} (${num(fl.tollgate.rps_median / fl.hono.rps_median, 2)}×), with workerd CPU per request ${num(wd(fl.tollgate), 2)} ms against ${num(wd(fl.hono), 2)} ms.`;
        w(`${where} ${(() => { const n = r.kv_ops?.flows[route === 'stateless' ? 'GET /auth/claims (stateless)' : 'GET /me']?.env_reads; const on = route === 'stateless' ? 'a stateless request' : '/me'; return n === undefined ? '' : n === 0 ? `The Worker reads nothing off \`env\` on ${on} (section 7).` : `The Worker reads ${n} propert${n === 1 ? 'y' : 'ies'} off \`env\` on ${on} (section 7), each a call out of the wasm.`; })()}${(() => { const f = r.kv_ops?.flows[route === 'stateless' ? 'GET /auth/claims (stateless)' : 'GET /me']; return f?.wasm_calls === undefined ? '' : ` In all it makes ${f.wasm_calls} calls out of the wasm on this route (section 7: ${Object.entries(f.wasm_calls_by_name).slice(0, 4).map(([k, v]) => `\`${k}\` ${v}`).join(', ')}, ...).`; })()}`);
        w();
        if (route === 'me' && r.http.me.bare) {
          w(floorSentence(r.http, 'me'));
          w();
        } else if (r.http.floor.bare) {
          w(floorSentence(r.http, 'stateless'));
          w();
        }
      }
      w('**Tollgate (API only):**');
      w();
      profileTable(r.profiles[route].tollgate);
      w('**Hono:**');
      w();
      profileTable(r.profiles[route].hono);
      w(LEVERS.crossings.replace('ENTRY', entryPhrase(r.http.floor)));
      w();
    } else if (f.id === 'me_vs_fastapi') {
      w(`CPU per request during the measured runs: ${cpuLine(r.http.me, ['tollgate', 'fastapi', 'tollgate_with_assets'])}. The FastAPI peer reads a dict in its own process; Tollgate (API only) pays workerd's per-request cost and a KV read through the local KV service.${r.http.floor?.bare ? ` A Worker that does nothing at all (bench/peers/bare) costs workerd ${num(r.http.floor.bare.cpu_ms_per_request.workerd, 2)} ms per request; 3× FastAPI's /me throughput allows at most ${num(Object.values(r.http.me.fastapi.cpu_ms_per_request).reduce((a, b) => a + b, 0) / 3, 2)} ms per request for the whole server, so under wrangler dev ${Object.values(r.http.me.fastapi.cpu_ms_per_request).reduce((a, b) => a + b, 0) / 3 < r.http.floor.bare.cpu_ms_per_request.workerd ? '**no Worker can meet this goal**: the runtime alone costs more' : 'the goal is within the runtime\'s reach'}.` : ''} Tollgate's profile (API only) on /me:`);
      w();
      profileTable(r.profiles.me.tollgate);
      w(LEVERS.me_vs_fastapi);
      w();
    } else if (f.id === 'login_p50' || f.id === 'login_p99') {
      const l = r.http.login;
      const lt = l.tollgate_with_assets;
      w(`A login is one argon2id verification plus bookkeeping. Measured in this run, on Tollgate as shipped: the Worker's wasm hashes in ${num(r.hashing.workerd_wasm_ms.median, 1)} ms inside workerd, argon2-cffi in ${num(r.hashing.argon2_cffi_ms.median, 1)} ms; so of Tollgate's ${num(lt.p50_ms, 1)} ms p50, about ${num(r.hashing.workerd_wasm_ms.median, 1)} ms is the hash and ${num(lt.p50_ms - r.hashing.workerd_wasm_ms.median, 1)} ms the rest (${(() => { const f = r.kv_ops?.flows.login; return f ? `${f.durable_object_calls} Durable Object call${f.durable_object_calls === 1 ? '' : 's'}, ${f.reads} KV reads, ${f.writes} KV write${f.writes === 1 ? '' : 's'}, as counted in section 7, and issuing the tokens` : 'storage calls and issuing the tokens'; })()}); ${l.fastapi.p50_ms - r.hashing.argon2_cffi_ms.median < 1 ? `FastAPI's ${num(l.fastapi.p50_ms, 1)} ms is its hash time (${num(r.hashing.argon2_cffi_ms.median, 1)} ms, measured apart) and little else.` : `FastAPI's ${num(l.fastapi.p50_ms, 1)} ms is ${num(r.hashing.argon2_cffi_ms.median, 1)} ms of hashing and ${num(l.fastapi.p50_ms - r.hashing.argon2_cffi_ms.median, 1)} ms of the rest.`} So the gap is the hash (wasm in workerd against argon2-cffi's C) plus the bookkeeping${r.http.floor?.tollgate_with_assets ? `; the asset router in front costs ${num(routerMs(r.http.floor), 2)} ms of workerd CPU per request (on /health, section 1)` : ''}. Tollgate's V8 profile during logins (as shipped):`);
      w();
      profileTable(r.profiles.login.tollgate_with_assets);
      w(LEVERS.login_vs_fastapi);
      w();
    } else if (f.id === 'argon2_wasm_vs_native') {
      const wasmShare = r.profiles.login.tollgate_with_assets.by_kind_share.wasm ?? 0;
      const topWasm = r.profiles.login.tollgate_with_assets.top.find((t) => t.kind === 'wasm');
      w(`During logins ${pct(wasmShare)} of the Worker's busy time is in wasm, ${topWasm ? `${pct(topWasm.share)} in \`${topWasm.name.replace(/::h[0-9a-f]{16}$/, '')}\` alone` : ''}. The same argon2 0.6 source runs natively in ${num(r.hashing.native_argon2_crate_ms.median, 1)} ms: natively it takes the crate's AVX2 path, chosen at run time (\`#[target_feature(enable = "avx2")]\` in argon2 0.6's \`src/lib.rs\`), while the wasm32 build runs the portable 64-bit code, as the wasm has no SIMD: its target features are ${(r.size?.wasm.target_features ?? []).map((x) => `\`${x}\``).join(' ') || '(not read)'}, no \`simd128\`, and the crate has no wasm SIMD path anyway. Tollgate's V8 profile during logins (as shipped):`);
      w();
      profileTable(r.profiles.login.tollgate_with_assets);
      w(LEVERS.argon2);
      w();
    } else if ((f.id === 'decode_vs_jose' || f.id === 'decode_vs_jwt_decode') && r.client?.profiles) {
      const c = r.client;
      w(`Per round (ops/s, same order): ${Object.entries(c.decode).map(([n, d]) => `${n} ${d.ops_per_second_runs.map((v) => num(v)).join(', ')}`).join('; ')}. V8 CPU profiles of each library decoding alone in the same page:`);
      w();
      for (const [name, p] of Object.entries(c.profiles)) {
        if (f.id === 'decode_vs_jose' && name.startsWith('jwt-decode')) continue;
        if (f.id === 'decode_vs_jwt_decode' && name.startsWith('jose')) continue;
        w(`**${name}:**`);
        w();
        profileTable(p);
      }
    } else if (f.id === 'worker_size') {
      const parts = r.size.wasm.gzip_by_part;
      const names = parts['name section (function names)'];
      if (names) w(`The shipped wasm still carries its name section (${kib(r.size.wasm.name_section_bytes)} raw, ${kib(names)} of the gzipped upload): without it the upload would be about ${num(r.size.wrangler_gzip_kib - names / 1024, 0)} KiB gzipped.\n`);
      w(`The gzipped wasm is ${kib(r.size.wasm.gzip)}: ${Object.entries(parts).map(([k, v]) => `${k} ${kib(v)}`).join(', ')} (section 6); the code (by crate, from ${r.size.wasm.code_by_crate_source}) is led by ${r.size.wasm.code_by_crate.slice(0, 8).map((c) => `\`${c.crate}\` ${pct(c.bytes / r.size.wasm.code_by_crate_total)}`).join(', ')}.`);
      w();
      w(LEVERS.worker_size);
      w();
    } else if (f.id === 'login_overhead') {
      const c = r.kv_ops?.flows.login;
      w(`Beyond the hash a login ${c ? `makes ${c.durable_object_calls} Durable Object call${c.durable_object_calls === 1 ? '' : 's'}, ${c.reads} KV reads and ${c.writes} KV write${c.writes === 1 ? '' : 's'} (section 7) and ${c.wasm_calls} calls out of the wasm` : 'reads and writes storage'}, and signs two tokens. ${LEVERS.login}`);
      w();
      profileTable(r.profiles.login.tollgate_with_assets);
    } else if (f.id === 'client_size') {
      const z = r.client.size;
      w(`Of the ${num(z.package_total_gzip)} bytes gzipped, the wasm and its glue are ${num(z.wasm_and_glue_gzip)} as shipped (gzipped apart; section 5), so the TypeScript of the client is most of it. ${LEVERS.client}`);
      w();
    } else if (LEVERS[f.id.replace(/_(ms|vs_hono|login|refresh|me|admin_page)$/, '')]) {
      w(LEVERS[f.id.replace(/_(ms|vs_hono|login|refresh|me|admin_page)$/, '')]);
      w();
    } else {
      w('No profile applies to this figure.');
      w();
    }
  }
}

w('---');
w();
w('Reproduce: `make bench` (installs wrk, the Python venv and the npm packages it needs, builds the Worker, the client and the native argon2 bench, runs the peer-equivalence test, then every comparison, then this document and its plots).');
writeFileSync(join(ROOT, 'BENCHMARKS.md'), lines.join('\n') + '\n');
console.log('wrote BENCHMARKS.md');

/**
 * What the do-nothing Worker (bench/peers/bare) says about a throughput goal against Hono:
 * the CPU it costs workerd per request is spent before (or, under /me, besides) any Worker
 * code, so a goal that asks for less than that is out of reach for any Worker on this
 * runtime. `route` is 'stateless' (its floor: /health, one constant response) or 'me' (its
 * floor: one KV read of the same record, `GET /kv/<key>`); the goal is the committed one.
 * (What the asset router costs Tollgate as shipped is said beside each use, not here.)
 */
function floorSentence(h, route) {
  const o = route === 'stateless'
    ? { data: h.stateless, floorRun: h.floor.bare, goal: fig('stateless_vs_hono').goal, on: 'the stateless route', room: 'routing, verifying and answering',
      floorWhat: 'The runtime\'s own floor: a Worker that does nothing (bench/peers/bare, one constant response)', lessThan: 'a Worker that does nothing' }
    : { data: h.me, floorRun: h.me.bare, goal: fig('me_vs_hono').goal, on: '/me', room: 'verifying the token and building the answer',
      floorWhat: 'The floor under /me: the do-nothing Worker reading the same record from its KV and answering it, with no token and no parsing (bench/peers/bare, `GET /kv/<key>`),', lessThan: 'a Worker that only reads KV' };
  const floor = wd(o.floorRun);
  const hono = wd(o.data.hono);
  const need = hono / o.goal;
  const above = `Tollgate (API only) spends ${diffMs(wd(o.data.tollgate) - floor)} ms per request above that floor, Hono ${diffMs(hono - floor)} ms.`;
  return `${o.floorWhat} costs workerd **${num(floor, 2)} ms** of CPU per request and serves ${num(o.floorRun.rps_median)} req/s. ` +
    `Serving ${o.goal}× Hono's throughput on ${o.on} means spending at most ${num(need, 2)} ms per request (Hono's ${num(hono, 2)} ms ÷ ${o.goal}), ` +
    (need > floor
      ? `which leaves ${num(need - floor, 2)} ms above that floor for ${o.room}: within reach. ${above}`
      : `${num(floor - need, 2)} ms **less than ${o.lessThan}**: on this runtime no Worker, in Rust or JavaScript, can meet that goal. ${above}`);
}

/** The asset router's cost on one comparison, workerd CPU ms per request, as shipped minus API only, with both figures. */
function routerPhrase(data) {
  const d = routerMs(data);
  return `${num(d, 2)} ms (${num(wd(data.tollgate_with_assets), 2)} as shipped against ${num(wd(data.tollgate), 2)} API only${d <= 0 ? ': no cost measurable in this run' : ''})`;
}
