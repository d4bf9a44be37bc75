#!/usr/bin/env bash
# Installs what the benchmarks need beyond `make setup`, pinned and idempotent:
#   wrk          the HTTP load generator (Debian package), as root or through sudo;
#   bench/.venv  Python with bench/requirements.txt (the FastAPI peer, argon2-cffi, matplotlib).
# The npm side (hono, jose, jwt-decode, playwright-core, wrangler) is in the root
# package-lock.json and installed by `make setup`. A second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bench-setup] %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "apt-get install wrk"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

# The stamp holds the hash of the requirements the venv was built from.
venv=bench/.venv
want=$(sha256sum bench/requirements.txt | cut -d' ' -f1)
have=$(cat "$venv/.requirements-sha256" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  log "python venv $venv from bench/requirements.txt"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
  echo "$want" > "$venv/.requirements-sha256"
fi
