#!/usr/bin/env bash
# The project's test command (README "Run the tests"): formatting, lints with
# and without optional features, docs, the crates.io packages of the library
# crates, and every test with all features on.
# Conformance suites read ../shared/conformance (override: GITOPS_CONFORMANCE_DIR);
# differential tests need the oracles from tools/fetch-oracles.sh on PATH or in
# $GITOPS_ORACLES.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "module import cycles (gitops-render: none spanning more than two files)"
python3 tools/module-cycles.py gitops-render/src --max 2

step "cargo clippy (all features)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo check (default features)"
# tests/kube-compat turns on gitops-core's `kube` feature; leaving it out
# keeps this a build of every crate with no optional feature.
cargo check --workspace --exclude gitops-kube-compat --locked

step "cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

step "cargo package (every library crate, verified)"
# About a minute on two cores (verified in a target directory of its own).
bash tools/package.sh

step "cargo test (all features)"
cargo test --workspace --all-features --locked
