// The runtime's floor: a Worker that does nothing at all. It answers every request with the
// same small JSON body, so what it costs per request under `wrangler dev` is what workerd and
// wrangler's local proxy cost before any Worker code runs. No Worker, in any language, can
// serve a request for less; the throughput goals are read against it (BENCHMARKS.md).
const BODY = '{"status":"ok"}';
const HEADERS = { 'content-type': 'application/json' };

export default {
  fetch() {
    return new Response(BODY, { headers: HEADERS });
  },
};
