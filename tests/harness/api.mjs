// A small HTTP client for the end-to-end tests: JSON, forms, bearer tokens and the refresh
// cookie, with every response's (method, path, status) recorded for the OpenAPI coverage
// check (tests/http/zz-openapi.test.mjs), which fails if a documented response is never seen.
import { appendFileSync } from 'node:fs';
import { request } from 'node:http';

const OBSERVATIONS = process.env.TOLLGATE_OBSERVATIONS;

/** The refresh cookie's name (worker/src/http.rs). */
export const REFRESH_COOKIE = '__Host-tollgate_refresh';

/**
 * A client bound to one server's base URL. `record: false` keeps its responses out of the
 * OpenAPI coverage check: for servers that are not Tollgate (an example service whose paths
 * may share a name with Tollgate's).
 */
export function client(base, { record = true } = {}) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {{json?: unknown, form?: Record<string,string>|string, body?: string|Uint8Array,
   *   contentType?: string, token?: string, cookie?: string, headers?: Record<string,string>}} opts
   */
  async function call(method, path, opts = {}) {
    const headers = { ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) { body = JSON.stringify(opts.json); headers['Content-Type'] ??= 'application/json'; }
    if (opts.form !== undefined) {
      body = typeof opts.form === 'string' ? opts.form : new URLSearchParams(opts.form).toString();
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    }
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.Cookie = opts.cookie;
    const res = await send(method, `${base}${path}`, headers, body);
    const text = res.text;
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    if (OBSERVATIONS && record) {
      appendFileSync(OBSERVATIONS, JSON.stringify({ method, path: path.split('?')[0], status: res.status }) + '\n');
    }
    return { status: res.status, headers: res.headers, json, text, cookie: refreshCookie(res) };
  }
  return {
    base,
    call,
    get: (path, opts) => call('GET', path, opts),
    post: (path, opts) => call('POST', path, opts),
    put: (path, opts) => call('PUT', path, opts),
    del: (path, opts) => call('DELETE', path, opts),
  };
}

/**
 * One HTTP exchange on a fresh connection. Not `fetch`: its pooled keep-alive sockets race
 * with `wrangler dev` closing idle ones while a test is busy elsewhere ("other side closed"),
 * and a POST is not retried. A new connection per request has no such race.
 */
function send(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode, headers: h, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The `__Host-tollgate_refresh=<value>` pair a response sets, with its attributes, if any. */
function refreshCookie(res) {
  const set = res.headers.getSetCookie?.() ?? [];
  const line = set.find((c) => c.startsWith(REFRESH_COOKIE + '='));
  if (!line) return undefined;
  const [pair, ...attrs] = line.split(';').map((s) => s.trim());
  return { pair, value: pair.slice(REFRESH_COOKIE.length + 1), attrs, line };
}

export const PASSWORD = 'correct horse battery staple';

/** A unique email for one test (tests share a server). */
export function email(tag = 'user') {
  return `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/**
 * A random client address from the documentation prefix 2001:db8::/32 (RFC 3849), in a /64 of
 * its own: the throttles count IPv6 clients by /64, so addresses from here never share a
 * bucket (32 random bits of /64; the interface part is random too).
 */
export function anyAddress() {
  const hex = () => Math.floor(Math.random() * 0x10000).toString(16);
  return `2001:db8:${hex()}:${hex()}::${hex()}`;
}

/** Request headers that make a request come from {@link anyAddress} (`CF-Connecting-IP`). */
export function fromAnywhere() {
  return { 'CF-Connecting-IP': anyAddress() };
}

/**
 * Registers and logs in a new user; returns the tokens, the refresh cookie and the ids. Both
 * requests come from `opts.headers` or else from a fresh random address: registrations are
 * throttled per address (REGISTER_MAX_PER_ADDRESS), and the tests register many users.
 */
export async function signUp(api, opts = {}) {
  const address = opts.email ?? email(opts.tag);
  const headers = opts.headers ?? fromAnywhere();
  const reg = await api.post('/auth/register', { json: { email: address, password: PASSWORD }, headers });
  if (reg.status !== 201) throw new Error(`register ${reg.status}: ${reg.text}`);
  const session = await logIn(api, address, PASSWORD, headers);
  return { ...session, email: address, id: reg.json.id };
}

/** Logs in; throws unless 200. */
export async function logIn(api, address, password = PASSWORD, headers = {}) {
  const res = await api.post('/auth/login', { form: { username: address, password }, headers });
  if (res.status !== 200) throw new Error(`login ${res.status}: ${res.text}`);
  return { token: res.json.access_token, cookie: res.cookie.pair, refresh: res.cookie.value, login: res };
}
