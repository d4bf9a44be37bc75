// The one call out of the wasm that turns a finished reply into the runtime's Response
// (worker/src/http.rs, `Reply::into_raw`). Building it field by field from Rust took one call
// across the wasm boundary per header, each copying two strings, plus five for the body and
// the init object; here it is one call and one string of headers.
//
// `head` is `name:value` lines joined by "\n"; names never contain ":", and the Rust side
// drops any value the runtime would refuse (CR, LF, NUL, or beyond U+00FF), so the split
// below cannot be led astray by a value and `append` does not throw.
export function respond(status, body, head) {
  const headers = new Headers();
  let start = 0;
  while (start < head.length) {
    let end = head.indexOf('\n', start);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', start);
    headers.append(head.slice(start, colon), head.slice(colon + 1, end));
    start = end + 1;
  }
  return new Response(body ?? null, { status, headers });
}
