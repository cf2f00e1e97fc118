#!/usr/bin/env bash
# Package every library crate as crates.io would get it, and build each
# package from its .crate file (cargo package's verification, default
# features) in target/package/.
#
# The crates depend on each other by path + version and none is on
# crates.io yet, so they are packaged together: cargo then resolves a
# sibling from the packages it has just made instead of from crates.io.
# (`cargo package -p gitops-image` alone fails with "no matching package
# named `gitops-core`" until gitops-core is published; gitops-core and
# gitops-gotemplate, which have no sibling dependency, package alone.)
#
# Usage: bash tools/package.sh [extra cargo package flags, e.g. --no-verify]
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(gitops-core gitops-render gitops-image gitops-setters gitops-source gitops-gotemplate)

# Each crate ships the workspace LICENSE as a plain copy (no symlink):
# the copies must not drift.
for c in "${crates[@]}"; do
    cmp -s LICENSE "$c/LICENSE" || { echo "error: $c/LICENSE differs from LICENSE (cp LICENSE $c/LICENSE)" >&2; exit 1; }
    [ -f "$c/README.md" ] || { echo "error: $c has no README.md" >&2; exit 1; }
done

args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
# --allow-dirty: the check runs on a working tree, before commit.
cargo package --locked --allow-dirty "${args[@]}" "$@"
