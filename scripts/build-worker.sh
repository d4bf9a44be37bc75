#!/usr/bin/env bash
# Builds the Worker with worker-build, using only tools installed by scripts/setup.sh: the
# cargo-installed wasm-bindgen, npm's binaryen (wasm-opt) and esbuild. Without these
# variables worker-build would download them from GitHub, which fails here.
#
#   scripts/build-worker.sh          the Worker `wrangler deploy` ships and `make dev` runs
#                                    (worker/build/; the [build] command of wrangler.toml)
#   scripts/build-worker.sh --test   the same Worker with storage fault injection compiled in
#                                    (the `fault-injection` feature, TOLLGATE_FAULT_INJECTION),
#                                    into worker/build-test/, for the HTTP tests only
#
# Skips the build when nothing it reads has changed since the last successful one: wrangler
# runs this command twice at every `wrangler dev` start, and the test harness starts several.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

case "${1:-}" in
  "") out=build; features=() ;;
  --test) out=build-test; features=(--features fault-injection) ;;
  *) echo "usage: scripts/build-worker.sh [--test]" >&2; exit 2 ;;
esac

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen")}"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$root/node_modules/.bin/esbuild"
for bin in "$WASM_BINDGEN_BIN" "$WASM_OPT_BIN" "$ESBUILD_BIN"; do
  [ -x "$bin" ] || { echo "build-worker: $bin is missing; run scripts/setup.sh (or make setup)" >&2; exit 1; }
done

# The OpenAPI document is served as a static asset (it does not count toward the Worker's
# size-limited upload); worker/openapi.json stays the one source.
# Copied only when it differs: a running `wrangler dev` watches worker/public and reloads the
# Worker on any write there, and this script runs at every `wrangler dev` start.
mkdir -p worker/public
cmp -s worker/openapi.json worker/public/openapi.json || cp worker/openapi.json worker/public/openapi.json

inputs_hash() {
  { find Cargo.toml Cargo.lock crates/core worker -type f \
      \( -name '*.rs' -o -name '*.toml' -o -name '*.txt' -o -name '*.json' -o -name '*.js' \) \
      -not -path 'worker/build/*' -not -path 'worker/build-test/*' -not -path 'worker/public/*' -print0 \
      | sort -z | xargs -0 sha256sum; sha256sum scripts/thin-entry.mjs scripts/strip-wasm-names.mjs scripts/build-worker.sh
    "$WASM_BINDGEN_BIN" --version; echo "features: ${features[*]}"; } \
    | sha256sum | cut -d' ' -f1
}
stamp=worker/$out/.inputs-sha256
want=$(inputs_hash)
if [ -f "worker/$out/index.js" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "build-worker: worker/$out up to date"
  exit 0
fi
# A build that was interrupted leaves a staging dir that makes the next one wait for a lock.
rm -rf "worker/$out/.tmp"
(cd worker && worker-build --release --out-dir "$out" "${features[@]}")
# worker-build's default export wraps every request in Proxies; a plain handler calling the
# same wasm export does the same work for less (see the script). The generated entry is kept
# beside it for `make bench`, which measures the two side by side; wrangler uploads only what
# `main` imports, so it never ships.
cp "worker/$out/index.js" "worker/$out/generated-entry.js"
node scripts/thin-entry.mjs "worker/$out/index.js"
# worker-build keeps the function-name section for readable panics; it is an eighth of the
# upload. TOLLGATE_KEEP_WASM_NAMES=1 keeps it when debugging.
if [ "${TOLLGATE_KEEP_WASM_NAMES:-0}" != 1 ]; then
  node scripts/strip-wasm-names.mjs "worker/$out/index_bg.wasm"
fi
echo "$want" > "$stamp"
