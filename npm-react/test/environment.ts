// happy-dom's document for React, with Node's own fetch family kept: happy-dom would replace
// Request, Response and fetch with its own, which resolve URLs against its page and differ
// from what browsers (and the fake server of the client's tests) do. The client is tested
// with Node's here, as in its own unit tests; the real browser is Chromium in tests/packaging.
import { builtinEnvironments, type Environment } from 'vitest/environments';

const KEPT = ['fetch', 'Request', 'Response', 'Headers', 'FormData', 'Blob', 'AbortController', 'AbortSignal',
  'URL', 'URLSearchParams', 'ReadableStream', 'TextEncoder', 'TextDecoder', 'BroadcastChannel', 'MessageEvent'];

export default {
  name: 'happy-dom-with-node-fetch',
  transformMode: 'web',
  async setup(global: Record<string, unknown>, options) {
    const kept = Object.fromEntries(KEPT.map((key) => [key, global[key]]));
    const env = await builtinEnvironments['happy-dom'].setup(global, options);
    Object.assign(global, kept);
    return env;
  },
} satisfies Environment;
