// Loads a `tollgate import` bulk file into a local KV state from inside workerd, for the scale
// benchmark (bench/sections/scale.mjs). `wrangler kv bulk put --local` writes one entry at a
// time through wrangler's proxy and manages about 75 entries a second on the bench machine, so
// 200,000 entries (100,000 users and their email index) would take most of an hour; a Worker
// writing the same entries to its own binding does it in minutes. It runs with Tollgate's own
// bindings (a wrangler.toml derived from the test config), on the persist dir that Tollgate's
// server then starts on, so the entries land exactly where Tollgate reads them.
//
// `POST /__bench/seed` with a JSON array of bulk entries (`{key, value, metadata?}`, the
// format `wrangler kv bulk put` reads) writes them to USERS and answers their count.
export * from '../../worker/build/index.js';

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === '/health') return new Response('{"status":"ok"}', { headers: { 'content-type': 'application/json' } });
    if (request.method !== 'POST' || path !== '/__bench/seed') return new Response(null, { status: 404 });
    const entries = await request.json();
    await Promise.all(entries.map((e) => env.USERS.put(e.key, e.value, e.metadata === undefined ? {} : { metadata: e.metadata })));
    return new Response(String(entries.length));
  },
};
