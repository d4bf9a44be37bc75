#!/usr/bin/env bash
# Installs every tool Tollgate builds and tests with, pinned, from the registries this
# machine can reach (crates.io, npm, PyPI, Debian). Idempotent: each step checks what is already
# there and skips itself, so the second run takes about a second.
#
#   scripts/setup.sh            everything
#   scripts/setup.sh rust       Rust tools only (wasm target, worker-build, wasm-bindgen, wasm-pack,
#                               and the C toolchain and OpenSSL headers they build with)
#   scripts/setup.sh browser    Debian chromium + chromium-driver only
#   scripts/setup.sh node       npm packages only (root package-lock.json)
#   scripts/setup.sh python     the FastAPI example's venv only (Debian python3 + python3-venv,
#                               then its pinned requirements.txt from PyPI)
#
# npm: package.json pins rollup (a vite dependency) through "overrides" to 4.62.2, the newest
# release whose per-platform packages are all on the registry mirror these machines use;
# with newer ones `npm ci` refuses a lockfile that cannot list them.
#
# Why no downloads from GitHub: the machines we build on reach only package registries, and
# wasm-pack / worker-build would otherwise fetch wasm-bindgen, wasm-opt and esbuild from there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pins. wasm-bindgen-cli must equal the `wasm-bindgen` crate in Cargo.lock exactly,
# so it is read from there rather than written twice.
WORKER_BUILD_VERSION=0.8.7
WASM_PACK_VERSION=0.15.1
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}

log() { printf '[setup] %s\n' "$*" >&2; }

# `cargo_tool BIN VERSION CRATE [extra cargo install args]`: installs CRATE@VERSION unless BIN
# already reports VERSION.
cargo_tool() {
  local bin=$1 version=$2 crate=$3; shift 3
  # Tools print "name 1.2.3" or just "1.2.3"; match the version as a whole word.
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -qE "(^|[[:space:]])${version//./\\.}([[:space:]]|$)"; then
    return 0
  fi
  log "cargo install $crate $version (several minutes on a cold machine)"
  cargo install "$crate" --version "$version" "$@"
}

setup_rust() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  # make test-rust runs cargo fmt --check and clippy: the toolchain's own components.
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    log "rustup component add rustfmt clippy"
    rustup component add rustfmt clippy
  fi
  cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build --locked
  # Not --locked: the registry mirror lacks one version wasm-bindgen-cli's own lockfile names.
  cargo_tool wasm-bindgen "$WASM_BINDGEN_VERSION" wasm-bindgen-cli
  cargo_tool wasm-pack "$WASM_PACK_VERSION" wasm-pack --locked
}

# Debian packages: a C toolchain and OpenSSL headers (cargo install of worker-build and
# wasm-pack builds C code and links OpenSSL), the sqlite3 shell (an HTTP test reads the throttle
# objects' local storage), and Chromium with its driver for the browser tests. Only what `dpkg` says is missing is installed; nothing at all when all are there.
apt_install() {
  local missing=() pkg sudo=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_system() {
  apt_install build-essential pkg-config libssl-dev sqlite3
}

setup_browser() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then return 0; fi
  apt_install chromium chromium-driver
}

# Fails early, saying what to do, where the machine lacks what no script here can install.
check_prerequisites() {
  command -v rustup >/dev/null || { echo "setup: rustup is required (https://rustup.rs)" >&2; exit 1; }
  command -v node >/dev/null || { echo "setup: Node.js 20.19 or newer is required" >&2; exit 1; }
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || { echo "setup: Node.js 20.19 or newer is required (found $(node --version))" >&2; exit 1; }
}

setup_node() {
  # The stamp holds the hash of the lockfile that node_modules was installed from.
  local want have=""
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [ -f node_modules/.tollgate-lock-sha256 ] && have=$(cat node_modules/.tollgate-lock-sha256)
  if [ "$want" != "$have" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund
    echo "$want" > node_modules/.tollgate-lock-sha256
  fi
}

# The FastAPI resource server example (examples/fastapi-resource-server) runs in the HTTP tests
# from its own venv. Its requirements.txt pins the whole dependency tree, so it is installed
# with --no-deps (nothing unlisted comes in) and checked with `pip check`. The stamp holds the
# hash of requirements.txt and of the Python that made the venv; a change of either remakes it.
PYTHON_EXAMPLE=examples/fastapi-resource-server
setup_python() {
  apt_install python3 python3-venv
  local venv=$PYTHON_EXAMPLE/.venv want have=""
  want=$( { cat "$PYTHON_EXAMPLE/requirements.txt"; command -v python3; python3 --version; } | sha256sum | cut -d' ' -f1)
  [ -f "$venv/.tollgate-requirements-sha256" ] && have=$(cat "$venv/.tollgate-requirements-sha256")
  if [ "$want" != "$have" ]; then
    log "python venv for $PYTHON_EXAMPLE (pip install -r requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-virtualenv --no-deps -r "$PYTHON_EXAMPLE/requirements.txt"
    "$venv/bin/pip" check --disable-pip-version-check
    echo "$want" > "$venv/.tollgate-requirements-sha256"
  fi
}

check_prerequisites
case "${1:-all}" in
  rust) setup_system; setup_rust ;;
  browser) setup_browser ;;
  node) setup_node ;;
  python) setup_python ;;
  all) setup_system; setup_browser; setup_node; setup_python; setup_rust ;;
  *) echo "usage: $0 [all|rust|browser|node|python]" >&2; exit 2 ;;
esac
