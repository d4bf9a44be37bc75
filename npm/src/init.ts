/**
 * Loads the wasm, in browsers, bundlers, Node and workers alike: the bytes embedded in the
 * package are decoded and compiled synchronously, with no fetch, no URL and no top-level
 * `await` (see `wasm.ts` for why, and for what a failure does). @internal
 */
import { initSync } from './wasm/tollgate_client.js';
import bytes from './wasm/tollgate_client_bytes.js';
import { load } from './wasm.js';

load(() => initSync({ module: decodeHex(bytes) }));

/** The bytes of a hex string (scripts/package-wasm.mjs says why hex). */
function decodeHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
