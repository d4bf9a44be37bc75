#!/usr/bin/env bash
# Runs every test layer, each with its own runner's output, then one summary line
# "N passed, N failed". Fails when any layer fails or runs zero tests. Called by `make test`.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=target/test-logs
rm -rf "$logs"; mkdir -p "$logs"

run_layer() { # name, make target
  local name=$1 target=$2
  printf '\n\033[1m=== %s (make %s)\033[0m\n' "$name" "$target"
  make --no-print-directory "$target" 2>&1 | tee "$logs/$name.log"
  echo "${PIPESTATUS[0]}" > "$logs/$name.rc"
}

# One log per runner, so a runner that silently runs nothing cannot hide behind another's
# count in the same layer.
run_layer rust test-rust
run_layer wasm-core test-wasm-core
run_layer wasm-client test-wasm-client
run_layer ts-unit test-ts-unit
run_layer ts-pack test-ts-pack
run_layer e2e test-e2e
run_layer e2e-strict test-http-strict

node scripts/test-summary.mjs "$logs" rust wasm-core wasm-client ts-unit ts-pack e2e e2e-strict
