# govchain — the two commands: `make run` and `make test`.
SHELL := /bin/bash
CARGO_FLAGS := -j2
export CARGO_TERM_COLOR ?= never

.PHONY: run test setup health ui ui-test rust-test protocol-check api-schema lint deny deny-advisories smoke e2e fuzz package bench cluster fmt clean

## make run: install what is missing, build the UI, start the desktop app.
run: setup ui
	cargo run $(CARGO_FLAGS) --bin govchain

## make test: install what is missing, then every check and test (UI and Rust).
test: setup health ui-test ui lint deny rust-test protocol-check api-schema smoke e2e
	@echo "make test: all checks passed"

setup:
	@scripts/setup.sh

ui:
	cd ui && npm run build

## Structure: no source file over 600 lines, no import cycle between a crate's modules.
health:
	python3 scripts/code_health.py --self-test

ui-test:
	cd ui && npm run check && npm test

lint:
	cargo fmt --all -- --check
	cargo clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

## Dependency review (deny.toml): licenses, banned crates, sources; offline.
DENY := target/tools/bin/cargo-deny
deny:
	@test -x $(DENY) || { echo "deny: installing cargo-deny into target/tools"; \
	  cargo install cargo-deny --version =0.20.2 --locked $(CARGO_FLAGS) --root target/tools --quiet; }
	$(DENY) --log-level error --offline check licenses bans sources

## RustSec advisories (needs network access to fetch the advisory database).
deny-advisories:
	$(DENY) check advisories

rust-test:
	@# Inside a private D-Bus session with a real, unlocked gnome-keyring:
	@# the workstation's keychain tests use the OS keychain, not a stand-in.
	scripts/with-keyring.sh cargo test $(CARGO_FLAGS) --workspace
	@# The vector suites again (same build), showing how many files each ran.
	cargo test $(CARGO_FLAGS) --workspace --test vectors -- --nocapture 2>&1 | grep -E 'vector|roots|test result'

## Schema-based API testing of a real node (schemathesis against /v1/openapi.json).
api-schema:
	@# The node binary as `cargo test` built it.
	cargo test $(CARGO_FLAGS) --workspace --no-run
	scripts/schemathesis.sh target/debug/govchain-node 40

## Every fuzz target for FUZZ_SECONDS each (libFuzzer via cargo-fuzz on the nightly
## toolchain; cargo-fuzz is installed into target/tools). Not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## PROTOCOL.md's examples re-derived by an independent (Python) implementation.
protocol-check:
	.venv/bin/python scripts/protocol_check.py PROTOCOL.md

smoke:
	@# The binary as `cargo test` built it (same features: no second build).
	cargo test $(CARGO_FLAGS) --workspace --no-run
	scripts/smoke-window.sh target/debug/govchain target/smoke-window.png

## Real-window E2E (WebDriver, real keyring; the embedded demo node, then a department node started
## with govchain-node and the demo ↔ real switch); screenshots in target/e2e/.
e2e:
	@# The binary as `cargo test` built it (same features as smoke: no second build).
	cargo test $(CARGO_FLAGS) --workspace --no-run
	scripts/e2e.sh target/debug/govchain target/e2e

## The Debian package (Tauri bundler from ui/node_modules): target/release/bundle/deb/*.deb
package: setup
	ui/node_modules/.bin/tauri build --bundles deb

bench:
	cargo bench $(CARGO_FLAGS) -p govchain-ledger --bench primitives

## A three-department consortium on loopback (ports 7701-7703, Raft), until Ctrl-C.
## Uses target/{release,debug}/govchain-node when newer than the sources
## (scripts/cluster.sh builds one only when there is none).
cluster:
	scripts/cluster.sh

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules ui/.svelte-kit .venv
