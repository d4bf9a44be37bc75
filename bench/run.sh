#!/usr/bin/env bash
# `make bench`: every comparison of Tollgate with its peers, on this machine, in one go.
# `make` has already run `make setup assets` (pinned tools, npm packages, the client package).
# This script installs the rest (bench/setup.sh: wrk, the Python venv), builds the Worker and
# the native argon2 bench, runs the peer equivalence test (and stops if it fails: a comparison
# with a peer doing different work is not worth reporting), measures everything
# (bench/bench.mjs -> bench/results/latest.json), and writes the plots (bench/plots.py ->
# bench/results/*.svg) and BENCHMARKS.md (bench/report.mjs).
#
#   BENCH_QUICK=1 bench/run.sh   a short plan, for working on the harness (not for quoting)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
start=$(date +%s)
step() { printf '\n\033[1m=== bench: %s (%d s)\033[0m\n' "$*" "$(( $(date +%s) - start ))"; }

step "setup (wrk, Python venv)"
bench/setup.sh

step "build the Worker (release)"
scripts/build-worker.sh

step "build the native argon2 bench (release)"
(cd bench/native-argon2 && CARGO_TARGET_DIR="$root/target/bench-native" cargo build --release --locked --quiet)

step "build the core's criterion benchmarks"
(cd bench/core && CARGO_TARGET_DIR="$root/target/bench-core" cargo bench --locked --bench core --no-run --quiet)

step "peer equivalence test"
if ! node --test --test-reporter=spec bench/peers/equivalence.test.mjs; then
  echo "bench: the peers do not accept and reject the same tokens as Tollgate; refusing to report" >&2
  exit 1
fi

step "measure"
node bench/bench.mjs

step "plots and BENCHMARKS.md"
bench/.venv/bin/python bench/plots.py
node bench/report.mjs
node bench/doc-sizes.mjs --write   # the READMEs' quoted sizes, from the same results

step "done in $(( ($(date +%s) - start) / 60 )) min"
