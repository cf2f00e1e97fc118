#!/usr/bin/env bash
# Record kubectl's output for every case here: input/ -> expected.yaml.
#
#   bash gitops-render/tests/render/cases/regenerate.sh [CASE...]
#
# Needs the pinned kubectl (v1.35.2, kustomize v5.7.1) from
# tools/fetch-oracles.sh; cases whose build fails are reported, not written.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracles="${GITOPS_ORACLES:-$HOME/.cache/gitops-oracles}"
kubectl="$oracles/kubectl"
[ -x "$kubectl" ] || { echo "no kubectl at $kubectl: run tools/fetch-oracles.sh" >&2; exit 1; }
cd "$here"
if [ $# -eq 0 ]; then set -- */; fi
for case in "$@"; do
    case=${case%/}
    [ -f "$case/meta.json" ] || continue
    reorder=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("reorder","legacy"))' "$case/meta.json")
    if "$kubectl" kustomize --reorder "$reorder" "$case/input" > "$case/expected.yaml.new" 2> "$case/kubectl.err"; then
        mv "$case/expected.yaml.new" "$case/expected.yaml"
        rm -f "$case/kubectl.err"
        echo "$case: recorded"
    else
        rm -f "$case/expected.yaml.new"
        echo "$case: kubectl failed: $(cat "$case/kubectl.err")" >&2
        rm -f "$case/kubectl.err"
    fi
done
