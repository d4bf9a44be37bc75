// A stand-in for an app's own web server in browser tests: serves a built app's files with the
// headers a test chooses (a Content-Security-Policy, say), and can forward Tollgate's API paths
// to a real `wrangler dev`, so the app and its auth API share one origin (the "same-origin
// proxy" topology), or answer as an API of its own on another origin.
import { readFileSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml' };

/** Tollgate's API paths (wrangler.toml's `run_worker_first`), forwarded by {@link serveApp}. */
export const API_PATHS = /^\/(health|me|auth\/|admin\/|\.well-known\/)/;

/**
 * Serves `dir` on a free loopback port.
 * @param {{dir?: string, headers?: Record<string,string>, routes?: Record<string,
 *   (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void>}} opts
 *   `headers` go on every file response; `routes` answer exact paths before any file.
 * @returns {Promise<{url: string, origin: string, requests: {method: string, path: string, headers: object}[],
 *   proxyTo(target: string): void, close(): Promise<void>}>} `proxyTo(url)` forwards
 *   {@link API_PATHS} to that server from then on; `requests` records what reached this server.
 */
export async function serveApp({ dir, headers = {}, routes = {} } = {}) {
  let target;
  const requests = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    requests.push({ method: req.method, path, headers: req.headers });
    if (routes[path]) return routes[path](req, res);
    if (target && API_PATHS.test(path)) return forward(req, res, target);
    if (!dir) return res.writeHead(404).end();
    const file = normalize(join(dir, decodeURIComponent(path)));
    if (!file.startsWith(dir)) return res.writeHead(404).end();
    try {
      const found = statSync(file).isDirectory() ? join(file, 'index.html') : file;
      const body = readFileSync(found);
      res.writeHead(200, { 'Content-Type': TYPES[extname(found)] ?? 'application/octet-stream', ...headers }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    url: origin,
    origin,
    requests,
    proxyTo(url) {
      target = new URL(url);
    },
    close: () => new Promise((ok) => {
      server.closeAllConnections();
      server.close(ok);
    }),
  };
}

/** Forwards one request to `target` as is (cookies, Origin and all) and streams the answer back. */
function forward(req, res, target) {
  const upstream = request({
    host: target.hostname, port: target.port, method: req.method, path: req.url,
    headers: { ...req.headers, host: target.host },
  }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
}
