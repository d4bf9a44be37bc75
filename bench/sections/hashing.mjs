// argon2id at Tollgate's parameters, three ways on the same machine:
//   workerd  the Worker's own wasm, inside workerd, through POST /__tollgate/calibrate (served
//            only with TOLLGATE_CALIBRATION=enabled): wall time of a request with count=n minus
//            one with count=0, per hash;
//   native   the RustCrypto argon2 crate, the version the Worker ships, compiled natively
//            (bench/native-argon2; median of n hashes per round);
// workerd and native alternate round by round; each figure is the median over rounds;
//   argon2-cffi  the C reference implementation, as the FastAPI peer hashes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'node:http';
import { ROOT } from '../../tests/harness/worker.mjs';
import { median, round } from '../lib/stats.mjs';

export const PARAMS = { memory_kib: 19456, iterations: 2, parallelism: 1 };

function post(url, body) {
  return new Promise((ok, fail) => {
    const data = JSON.stringify(body);
    const start = process.hrtime.bigint();
    const req = request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (res.statusCode !== 200) fail(new Error(`calibrate ${res.statusCode}: ${text}`));
        else ok(ms);
      });
    });
    req.on('error', fail);
    req.end(data);
  });
}

/** One timing of `count` hashes inside workerd, in ms per hash: count=n minus count=0. */
async function workerdOnce(url, count) {
  const empty = await post(url, { ...PARAMS, count: 0 });
  const full = await post(url, { ...PARAMS, count });
  return (full - empty) / count;
}

/** One run of the native timer: median ms per hash of the argon2 crate. */
function nativeOnce(count) {
  const bin = join(ROOT, 'target/bench-native/release/tollgate-bench-argon2');
  const r = spawnSync(bin, [PARAMS.memory_kib, PARAMS.iterations, PARAMS.parallelism, count].map(String), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`native argon2 bench failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  return median(out.argon2_crate_ms);
}

export async function hashingSection(fleet, plan, log) {
  log('argon2id hash time: workerd (wasm) vs native, interleaved');
  const url = `${fleet.tollgate.url}/__tollgate/calibrate`;
  await post(url, { ...PARAMS, count: 2 }); // warm-up: compiles and tiers up the wasm
  nativeOnce(2);
  // Each round times workerd and then the native build back to back, so that load from
  // elsewhere on the machine falls on both sides of the ratio alike.
  const wasm = [];
  const crate = [];
  for (let i = 0; i < plan.hashRuns; i++) {
    wasm.push(await workerdOnce(url, plan.hashCount));
    crate.push(nativeOnce(plan.hashCount));
    log(`  round ${i + 1}/${plan.hashRuns}: workerd ${wasm.at(-1).toFixed(1)} ms, native argon2 ${crate.at(-1).toFixed(1)} ms per hash`);
  }
  const py = spawnSync(join(ROOT, 'bench/.venv/bin/python'), [join(ROOT, 'bench/peers/fastapi/hash_time.py'),
    ...[PARAMS.memory_kib, PARAMS.iterations, PARAMS.parallelism, plan.hashCount * 3].map(String)], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`argon2-cffi timing failed: ${py.stderr}`);
  const cffi = JSON.parse(py.stdout);
  const out = {
    params: PARAMS,
    workerd_wasm_ms: { runs: wasm.map((x) => round(x, 2)), median: round(median(wasm), 2) },
    native_argon2_crate_ms: { runs: crate.map((x) => round(x, 2)), median: round(median(crate), 2) },
    argon2_cffi_ms: { runs: cffi, median: round(median(cffi), 2) },
  };
  log(`  workerd ${out.workerd_wasm_ms.median} ms, native argon2 ${out.native_argon2_crate_ms.median} ms, argon2-cffi ${out.argon2_cffi_ms.median} ms`);
  return out;
}
