// Runs wrk (Debian's package, installed by bench/setup.sh) with bench/wrk/request.lua and
// returns its JSON summary, plus the CPU time each process of the server used meanwhile.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../tests/harness/worker.mjs';

const SCRIPT = join(ROOT, 'bench/wrk/request.lua');
/** The script that cycles through a file of tokens (`tokensFile`), for many users' records. */
const TOKENS_SCRIPT = join(ROOT, 'bench/wrk/tokens.lua');
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * @param {{url: string, tokensFile?: string, threads?: number, connections: number, seconds: number, maxRequests?: number,
 *   method?: string, token?: string, body?: string, contentType?: string, server?: {pids: () => {pid:number, comm:string}[]}}} o
 * @returns {Promise<{requests:number, rps:number, errors:object, latency_us:object, cpu?: Record<string, number>}>}
 */
export async function wrk(o) {
  const env = {
    ...process.env,
    WRK_METHOD: o.method ?? 'GET',
    WRK_TOKEN: o.token ?? '',
    WRK_BODY: o.body ?? '',
    WRK_CONTENT_TYPE: o.contentType ?? '',
    WRK_MAX_REQUESTS: String(o.maxRequests ?? 0),
    WRK_TOKENS_FILE: o.tokensFile ?? '',
    WRK_PATH: o.tokensFile ? new URL(o.url).pathname : '',
    // tokens.lua runs request.lua first, for its summary line.
    WRK_BASE_SCRIPT: SCRIPT,
  };
  const args = ['-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${o.seconds}s`,
    '--timeout', '10s', '-s', o.tokensFile ? TOKENS_SCRIPT : SCRIPT, o.url];
  const procs = o.server ? o.server.pids() : [];
  const before = cpuTicks(procs);
  const out = await new Promise((ok, fail) => {
    const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c) => { text += c; });
    child.stderr.on('data', (c) => { text += c; });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok(text) : fail(new Error(`wrk exited ${code}:\n${text}`))));
  });
  const after = cpuTicks(procs);
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length));
  r.rps = r.requests / (r.duration_us / 1e6);
  const bad = r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
  if (bad > 0) throw new Error(`wrk saw ${bad} failed requests against ${o.url}: ${JSON.stringify(r.errors)}`);
  if (procs.length) {
    // CPU milliseconds per request for each process (by command name) of the server.
    r.cpu_ms_per_request = {};
    for (const p of procs) {
      if (before[p.pid] === undefined || after[p.pid] === undefined) continue;
      const ms = ((after[p.pid] - before[p.pid]) / TICKS_PER_SECOND) * 1000;
      r.cpu_ms_per_request[p.comm] = (r.cpu_ms_per_request[p.comm] ?? 0) + ms / r.requests;
    }
  }
  return r;
}

/** utime + stime of each pid, in clock ticks (/proc/PID/stat fields 14 and 15). */
function cpuTicks(procs) {
  const ticks = {};
  for (const { pid } of procs) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks[pid] = Number(fields[11]) + Number(fields[12]);
    } catch { /* exited */ }
  }
  return ticks;
}
