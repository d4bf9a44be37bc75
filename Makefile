# Tollgate's two commands: `make dev` and `make test`. Everything else is a piece of them.
# Both install what is missing (scripts/setup.sh, pinned, idempotent) and are safe to rerun.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# npm's binaryen (a wasm-opt that works with wasm-bindgen 0.2.130) and the cargo-installed
# tools come before anything the system has: Debian's wasm-opt 108 breaks the output.
# cargo installs binaries into $CARGO_HOME/bin (~/.cargo/bin unless CARGO_HOME is set).
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(CARGO_BIN):$(PATH)
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

# Extra arguments for `wrangler dev`, e.g. make dev ARGS="--port 8788 --var ACCESS_TOKEN_TTL_SECONDS:5"
ARGS ?=
# wrangler refuses a single-value flag given twice, so each default below is passed only when
# ARGS does not set that flag itself (`--port 8788` and `--port=8788` both count).
dev_default = $(if $(filter $(1) $(1)=%,$(ARGS)),,$(1) $(2))
DEV_FLAGS := $(call dev_default,--ip,127.0.0.1) $(call dev_default,--port,8787) \
  $(call dev_default,--inspector-ip,127.0.0.1) $(call dev_default,--persist-to,.wrangler/state)

CLIENT_SRC := $(shell find crates/client/src crates/core/src npm/src npm/scripts -type f 2>/dev/null) crates/client/Cargo.toml crates/core/Cargo.toml npm/package.json npm/tsconfig.json
SWAGGER := node_modules/swagger-ui-dist

.PHONY: help setup build client react assets worker dev test test-rust test-wasm test-wasm-core test-wasm-client test-ts test-ts-unit test-ts-pack test-e2e test-http test-http-strict test-browser bench sizes clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

setup: ## Install every pinned tool that is missing (Rust tools, chromium, npm packages)
	@scripts/setup.sh

# --- build -------------------------------------------------------------------------------
build: client react assets worker ## Build the client packages, the static assets and the Worker

client: npm/dist/index.js ## Build @tollgate/client (wasm-pack + TypeScript) into npm/dist
# The client's two crates are built at opt-level 3, not the workspace's "z": its wasm has no
# generic code to bloat, so 3 is both smaller (3.7 KB against 5.6 KB) and several times faster
# at decoding, which is what puts decodeClaims ahead of jose's decodeJwt.
CLIENT_CARGO_FLAGS := --config profile.release.package.tollgate-client.opt-level=3 --config profile.release.package.tollgate-core.opt-level=3
npm/dist/index.js: $(CLIENT_SRC)
	wasm-pack --quiet build crates/client --release --target web --out-dir ../../npm/wasm --out-name tollgate_client --no-pack -- $(CLIENT_CARGO_FLAGS)
	rm -f npm/wasm/.gitignore
	npm run --silent -w @tollgate/client build

react: npm-react/dist/index.js ## Build @tollgate/react (TypeScript) into npm-react/dist
REACT_SRC := $(shell find npm-react/src -type f 2>/dev/null) npm-react/package.json npm-react/tsconfig.json
npm-react/dist/index.js: $(REACT_SRC) npm/dist/index.js
	npm run --silent -w @tollgate/react build

assets: client ## Copy the client package and Swagger UI into the Worker's static assets
	@rm -rf worker/public/client && mkdir -p worker/public/client worker/public/vendor/swagger-ui
	@cp -R npm/dist/. worker/public/client/
	@cp $(SWAGGER)/swagger-ui-bundle.js $(SWAGGER)/swagger-ui.css worker/public/vendor/swagger-ui/
	@mkdir -p worker/public/vendor/qr && cp node_modules/@paulmillr/qr/esm/index.js worker/public/vendor/qr/index.js

worker: ## Build the Worker that `wrangler deploy` ships (worker/build) with worker-build
	@scripts/build-worker.sh

# --- the two commands --------------------------------------------------------------------
dev: setup assets .dev.vars ## Run the Worker locally on 127.0.0.1:8787 with persisted local KV
	npx wrangler dev --local $(DEV_FLAGS) --show-interactive-dev-session=false $(ARGS)

# A random 32-byte secret for local development; never overwrites an existing file. The
# secret is made first and checked, so a failure can never leave an empty JWT_SECRET behind.
.dev.vars:
	@secret=$$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))'); \
	  [ $${#secret} -eq 43 ] || { echo "could not generate a JWT_SECRET" >&2; exit 1; }; \
	  umask 077; printf 'JWT_SECRET=%s\n' "$$secret" > $@.tmp && mv $@.tmp $@
	@echo "wrote $@ with a new random JWT_SECRET"

test: setup ## Run every test layer; ends with one "N passed, N failed" line
	@scripts/test-all.sh

# --- one layer at a time -----------------------------------------------------------------
# The Worker is checked twice: as `wrangler deploy` ships it, and with the test build's
# `fault-injection` feature (scripts/build-worker.sh --test), whose code only that build has.
test-rust: ## cargo fmt and clippy (warnings are errors), then cargo test for the native crates
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo clippy -p tollgate-worker --all-targets --features fault-injection --quiet -- -D warnings
	cargo test --workspace
	cargo test -p tollgate-worker --features fault-injection

test-wasm: test-wasm-core test-wasm-client ## core and client tests compiled to wasm, in headless Chromium

test-wasm-core: ## the core's tests compiled to wasm, in headless Chromium
	wasm-pack test --headless --chrome crates/core

test-wasm-client: ## the client crate's tests compiled to wasm, in headless Chromium
	wasm-pack test --headless --chrome crates/client

test-ts: test-ts-unit test-ts-pack ## The TypeScript package's unit tests and its packaging test

test-ts-unit: client react ## The TypeScript packages' unit tests (vitest, real wasm, fake clock and fetch; React in happy-dom)
	npm run --silent -w @tollgate/client test
	npm run --silent -w @tollgate/react test

test-ts-pack: client react ## Packaging tests: npm pack into scratch projects; Node, tsc, Vite/esbuild/plain pages and a Vite-built React app signing in (Chromium, wrangler dev)
	node --test --test-reporter=spec tests/packaging/

test-e2e: assets ## HTTP and browser tests against one real `wrangler dev`
	node tests/run.mjs

test-http: assets ## HTTP tests against a real `wrangler dev`
	node tests/run.mjs http

test-http-strict: assets ## The HTTP tests again, every Tollgate server in strict mode (CONSISTENCY=strict)
	TOLLGATE_CONSISTENCY=strict node tests/run.mjs http

test-browser: assets ## Playwright tests in headless Chromium against a real `wrangler dev`
	node tests/run.mjs browser

bench: setup assets react ## Run every benchmark and rewrite BENCHMARKS.md
	@bench/run.sh

sizes: setup assets react ## Measure only the Worker's upload and the client packages' sizes; rewrite BENCHMARKS.md and the READMEs' quoted sizes
	node bench/sizes.mjs

clean: ## Remove build outputs (keeps installed tools and local dev state)
	cargo clean
	rm -rf npm/dist npm/wasm npm-react/dist worker/build worker/build-test worker/public/client worker/public/vendor
