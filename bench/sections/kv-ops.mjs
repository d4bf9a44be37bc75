// Storage calls per request, observed for real: Tollgate's built Worker runs behind
// bench/kv-observer/entry.mjs, which hands it KV and Durable Object namespaces that record
// every call, under the same `wrangler dev`. One request of each flow is made in turn (two of
// /health, a register, a login, /auth/claims, /me, a refresh, a second refresh) and the calls
// each made are read from the response's X-Bench-Storage-Calls header, with the number of
// calls from the wasm into JavaScript from X-Bench-Wasm-Calls.
import { randomBytes } from 'node:crypto';
import { client, PASSWORD } from '../../tests/harness/api.mjs';
import { observerConfig, startWrangler } from '../lib/servers.mjs';

const HEADER = 'x-bench-storage-calls';

function tally(calls) {
  const kv = { reads: 0, writes: 0, deletes: 0, lists: 0 };
  let durableObject = 0;
  for (const c of calls) {
    const [binding, method] = c.split(':')[0].split('.');
    if (binding === 'USERS' || binding === 'TOKENS') {
      if (method === 'get' || method === 'getWithMetadata') kv.reads++;
      else if (method === 'put') kv.writes++;
      else if (method === 'delete') kv.deletes++;
      else if (method === 'list') kv.lists++;
    } else if (['THROTTLE', 'USER_RECORDS', 'EMAIL_CLAIMS'].includes(binding) && c.startsWith(`${binding}.stub.`)) {
      durableObject++;
    }
  }
  return { ...kv, durable_object_calls: durableObject, calls };
}

export async function kvOpsSection(vars, log) {
  log('KV operations per request (observed under workerd)');
  const server = await startWrangler({ name: 'observed', config: observerConfig(), secrets: { JWT_SECRET: randomBytes(32).toString('base64url') }, vars });
  try {
    const api = client(server.url);
    const flows = {};
    const record = (name, res, status) => {
      if (res.status !== status) throw new Error(`${name}: ${res.status} ${res.text}`);
      const header = res.headers.get(HEADER);
      if (!header) throw new Error(`${name}: no ${HEADER} header; is the observer running?`);
      flows[name] = tally(JSON.parse(header));
      const envReads = JSON.parse(res.headers.get('x-bench-env-reads') ?? '{}');
      flows[name].env_reads = Object.values(envReads).reduce((a, b) => a + b, 0);
      flows[name].env_reads_by_name = envReads;
      // Calls from the wasm into JavaScript while answering (bench/kv-observer/count-wasm-calls.mjs).
      const wasm = JSON.parse(res.headers.get('x-bench-wasm-calls') ?? 'null');
      if (wasm) { flows[name].wasm_calls = wasm.total; flows[name].wasm_calls_by_name = wasm.byName; }
      log(`  ${name}: ${JSON.stringify(flows[name].calls)}`);
    };
    // The isolate's first request also read and checked the configuration; startWrangler's
    // readiness probe (GET /health) was that one, so every flow below runs as it usually does.
    record('GET /health', await api.get('/health'), 200);
    const email = `kv-${Date.now().toString(36)}@example.com`;
    record('register', await api.post('/auth/register', { json: { email, password: PASSWORD } }), 201);
    const login = await api.post('/auth/login', { form: { username: email, password: PASSWORD } });
    record('login', login, 200);
    const token = login.json.access_token;
    record('GET /auth/claims (stateless)', await api.get('/auth/claims', { token }), 200);
    record('GET /me', await api.get('/me', { token }), 200);
    const refresh = await api.post('/auth/refresh', { cookie: login.cookie.pair });
    record('POST /auth/refresh', refresh, 200);
    record('POST /auth/refresh (again, rotated cookie)', await api.post('/auth/refresh', { cookie: refresh.cookie.pair }), 200);
    return {
      method: 'Tollgate\'s built Worker (unchanged) behind bench/kv-observer/entry.mjs, which wraps the USERS/TOKENS KV and the THROTTLE, USER_RECORDS and EMAIL_CLAIMS Durable Object bindings in recording proxies (the objects\' own KV calls, made inside them, count as one object call each), under wrangler dev; one request per flow',
      flows,
    };
  } finally {
    await server.stop();
  }
}
