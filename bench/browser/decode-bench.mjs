// Runs in headless Chromium: decodes the same access token with @tollgate/client's
// decodeClaims (wasm), jose's decodeJwt and jwt-decode's jwtDecode, in the same page.
// Rounds are interleaved (each library once per round, rotating who goes first) and each
// measurement is a fixed time slice; the harness takes the median ops/s per library.
import { decodeClaims } from '/client/index.js';
import { decodeJwt, jwtDecode } from '/peers.js';

const LIBRARIES = {
  '@tollgate/client decodeClaims': decodeClaims,
  'jose decodeJwt': decodeJwt,
  'jwt-decode jwtDecode': jwtDecode,
};

function slice(fn, token, ms) {
  let ops = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 256; i++) sink += fn(token).exp;
    ops += 256;
    now = performance.now();
  }
  return { opsPerSecond: ops / ((now - start) / 1000), sink };
}

window.runBench = (token, { rounds, sliceMs, warmupMs }) => {
  const names = Object.keys(LIBRARIES);
  // Same answer from all three, or the comparison means nothing.
  const expected = JSON.stringify(decodeJwt(token));
  for (const name of names) {
    if (JSON.stringify(LIBRARIES[name](token)) !== expected) throw new Error(`${name} decoded something else`);
  }
  for (const name of names) slice(LIBRARIES[name], token, warmupMs);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length];
      const s = slice(LIBRARIES[name], token, sliceMs);
      results[name].push(s.opsPerSecond);
      sink += s.sink;
    }
  }
  return { results, sink, userAgent: navigator.userAgent };
};
// One library alone for `ms`, for a CPU profile of where its decode spends the time.
window.runOne = (name, token, ms) => slice(LIBRARIES[name], token, ms).opsPerSecond;
window.benchReady = true;
