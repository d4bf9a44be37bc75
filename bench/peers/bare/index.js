// The runtime's floor: a Worker that does as little as a route can. Every request gets the
// same small JSON body, so what it costs per request under `wrangler dev` is what workerd and
// wrangler's local proxy cost before any Worker code runs. No Worker, in any language, can
// serve a request for less; the throughput goals are read against it (BENCHMARKS.md).
//
// `GET /kv/<key>` is the floor under /me: one read of the USERS namespace (the harness seeds
// it with the benchmark user's record) and its text as the body, no token, no parsing. What
// that costs is what any Worker pays for a request with one KV read.
const BODY = '{"status":"ok"}';
const HEADERS = { 'content-type': 'application/json' };

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path.startsWith('/kv/')) {
      const value = await env.USERS.get(decodeURIComponent(path.slice(4)));
      return value === null ? new Response(null, { status: 404 }) : new Response(value, { headers: HEADERS });
    }
    return new Response(BODY, { headers: HEADERS });
  },
};
