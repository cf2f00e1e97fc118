#!/usr/bin/env bash
# Package every library crate as crates.io would get it, and build each
# package from its .crate file (cargo package's verification, default
# features) in target/package/.
#
# The crates depend on each other by path + version and none is on
# crates.io yet, so they are packaged together: cargo then resolves a
# sibling from the packages it has just made instead of from crates.io.
# (`cargo package -p gitops-image` alone fails with "no matching package
# named `gitops-core`" until gitops-core is published; gitops-core, which
# has no sibling dependency, packages alone.)
#
# Usage: bash tools/package.sh [extra cargo package flags, e.g. --no-verify]
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(gitops-core gitops-render gitops-image gitops-setters gitops-source gitops-automate gitops-gotemplate gitops-cluster gitops-reconcile)

# Each crate ships the workspace LICENSE as a plain copy (no symlink):
# the copies must not drift.
for c in "${crates[@]}"; do
    cmp -s LICENSE "$c/LICENSE" || { echo "error: $c/LICENSE differs from LICENSE (cp LICENSE $c/LICENSE)" >&2; exit 1; }
    [ -f "$c/README.md" ] || { echo "error: $c has no README.md" >&2; exit 1; }
done

# Cargo unpacks the sibling packages it verifies against into
# $CARGO_HOME/registry/src/-<hash>/NAME-VERSION and reuses such a directory
# when it exists: with an unchanged version number, a later run would build
# against the sources of an earlier one. Remove those copies first.
# Their builds are likewise reused (registry sources are taken as
# immutable), so the packages are verified in a target directory of their
# own that starts empty (default features only: about a minute on two cores).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
for c in "${crates[@]}"; do
    rm -rf "$cargo_home"/registry/src/-*/"$c"-[0-9]*
done
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export CARGO_TARGET_DIR="$target/package-verify"
rm -rf "$CARGO_TARGET_DIR"

args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
# --allow-dirty: the check runs on a working tree, before commit.
cargo package --locked --allow-dirty "${args[@]}" "$@"
