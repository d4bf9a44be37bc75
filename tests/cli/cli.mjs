// Helpers for the CLI's end-to-end tests (tests/http/cli-*.test.mjs): build and run the real
// `tollgate` binary, load its bulk files into a server's local KV with wrangler, and talk to
// the Worker the way a client does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../harness/worker.mjs';

const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', FORCE_COLOR: '0' };

let binary = null;

/** Builds `tollgate` (debug; the hashing crates are optimised even there) once; its path. */
export function cliBinary() {
  if (binary) return binary;
  const build = spawnSync('cargo', ['build', '-p', 'tollgate-cli', '--message-format=json-render-diagnostics'], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20,
  });
  if (build.status !== 0) throw new Error('cargo build -p tollgate-cli failed');
  for (const line of build.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target?.name === 'tollgate' && msg.executable) binary = msg.executable;
  }
  if (!binary) throw new Error('cargo did not report the tollgate executable');
  return binary;
}

/** Runs `tollgate ...args` with `input` on stdin; never throws on a non-zero exit. */
export function tollgate(args, { input = '', cwd = ROOT, timeout = 600_000 } = {}) {
  const r = spawnSync(cliBinary(), args, { cwd, input, encoding: 'utf8', timeout, env: ENV, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `wrangler kv ...args --local --persist-to <persistDir> --binding USERS`; throws on failure. */
export function kvUsers(persistDir, args) {
  const r = spawnSync(WRANGLER, ['kv', ...args, '--local', '--persist-to', persistDir, '--binding', 'USERS'], {
    cwd: ROOT, encoding: 'utf8', env: ENV, maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`wrangler kv ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The stored `UserRecord` under `user:<id>`, read straight from local KV. */
export function storedUser(persistDir, id) {
  return JSON.parse(kvUsers(persistDir, ['key', 'get', `user:${id}`, '--text']));
}

/** `POST /auth/login` with the OAuth2 password form; the raw response. */
export function login(base, email, password) {
  return fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: email, password, grant_type: 'password' }),
  });
}

/** `POST /auth/register`; the raw response. */
export function register(base, email, password) {
  return fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

/** The decoded (unverified) JOSE header of a compact JWS. */
export function jwtHeader(token) {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
}

/** The users a bulk file creates: `[{id, email, role, record}]`. */
export function usersInBulk(text) {
  return JSON.parse(text).filter((e) => e.key.startsWith('user:')).map((e) => {
    const record = JSON.parse(e.value);
    return { id: record.id, email: record.email, role: record.role, record };
  });
}
