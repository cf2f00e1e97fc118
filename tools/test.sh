#!/usr/bin/env bash
# The project's test command (README "Run the tests"): formatting, lints with
# and without optional features, and every test with all features on.
# Conformance suites read ../shared/conformance (override: GITOPS_CONFORMANCE_DIR);
# differential tests need the oracles from tools/fetch-oracles.sh on PATH or in
# $GITOPS_ORACLES.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all features)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo check (default features)"
cargo check --workspace --locked

step "cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

step "cargo test (all features)"
cargo test --workspace --all-features --locked
