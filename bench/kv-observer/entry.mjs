// Tollgate's built Worker (worker/build/index.js, unchanged) behind a thin wrapper that
// counts the storage calls it really makes, for the "KV operations per request" figure.
//
// Every request gets its own copy of `env` whose KV namespaces (USERS, TOKENS) and Durable
// Object namespaces (THROTTLE, USER_RECORDS, EMAIL_CLAIMS) are proxies: each method call on them (get, getWithMetadata,
// put, delete, list; the Durable Object stubs' calls) is recorded with the first segment of
// its key, and the list comes back in the `X-Bench-Storage-Calls` response header (and the
// reads of `env` properties, counted per name, in `X-Bench-Env-Reads`; the calls the wasm
// made into JavaScript while answering, by import, in `X-Bench-Wasm-Calls`). Nothing
// else changes: the Worker runs its own code against workerd's real local KV.
// Run only by bench/sections/kv-ops.mjs, through a wrangler.toml derived from Tollgate's.
import { WorkerEntrypoint } from 'cloudflare:workers';
// First: it must replace WebAssembly.Instance before the Worker's glue instantiates its wasm.
import { callsSince, snapshot } from './count-wasm-calls.mjs';
import Tollgate from '../../worker/build/index.js';

export * from '../../worker/build/index.js';

const HEADER = 'X-Bench-Storage-Calls';
// The Durable Object namespaces: the throttle, and the writers of user records and email index
// entries (whose own KV writes happen inside the objects, so they count here as object calls).
const OBJECTS = ['THROTTLE', 'USER_RECORDS', 'EMAIL_CLAIMS'];
const ENV_HEADER = 'X-Bench-Env-Reads';
const WASM_HEADER = 'X-Bench-Wasm-Calls';

function observe(target, name, calls) {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      // workers-rs checks a binding's type by `constructor.name`: leave that untouched.
      if (typeof value !== 'function' || prop === 'constructor' || typeof prop === 'symbol') return value;
      return (...args) => {
        const key = typeof args[0] === 'string' ? `:${args[0].split(':')[0]}` : '';
        calls.push(`${name}.${String(prop)}${key}`);
        const result = value.apply(t, args);
        // A Durable Object stub is an object too: record what is called on it.
        if (OBJECTS.includes(name) && prop === 'get' && result && typeof result === 'object') {
          return observe(result, `${name}.stub`, calls);
        }
        return result;
      };
    },
  });
}

export default class Observed extends WorkerEntrypoint {
  async fetch(request) {
    const calls = [];
    const env = { ...this.env };
    for (const name of ['USERS', 'TOKENS']) env[name] = observe(this.env[name], name, calls);
    for (const name of OBJECTS) env[name] = observe(this.env[name], name, calls);
    // Also count how often the Worker reads a binding (var, secret or namespace) off `env`:
    // each read is a call out of the wasm and, for strings, a copy into it.
    const envReads = {};
    const countedEnv = new Proxy(env, {
      get(t, prop) {
        if (typeof prop === 'string') envReads[prop] = (envReads[prop] ?? 0) + 1;
        return Reflect.get(t, prop);
      },
    });
    const before = snapshot();
    // The built Worker's default export is a plain module handler (scripts/thin-entry.mjs).
    const response = await Tollgate.fetch(request, countedEnv, this.ctx);
    const wasm = callsSince(before);
    const out = new Response(response.body, response);
    out.headers.set(HEADER, JSON.stringify(calls));
    out.headers.set(ENV_HEADER, JSON.stringify(envReads));
    out.headers.set(WASM_HEADER, JSON.stringify(wasm));
    return out;
  }
}
