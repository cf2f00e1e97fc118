#!/usr/bin/env bash
# Measure the gitops CLI on the hostile YAML inputs of tools/hostile-yaml.py:
# time, peak RSS and the error line of each command.
# Usage: bash tools/hostile-yaml.sh [BIN] (default target/release/gitops)
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:-target/release/gitops}
I=$(mktemp -d)
trap 'rm -rf "$I"' EXIT
python3 tools/hostile-yaml.py "$I" >/dev/null
run() {
    label=$1; shift
    /usr/bin/time -f "%e s %M KB" -o "$I/time" timeout 120 "$@" >"$I/out" 2>"$I/err"
    rc=$?
    printf "%-9s rc=%-3s %-20s %s\n" "$label" "$rc" "$(tail -1 "$I/time")" "$(grep -o 'more than [0-9]* YAML nodes\|excessive aliasing' "$I/err" | head -1)"
}
run build32 "$B" build "$I/build32"
run values16 "$B" values compose "$I/values16/release.yaml" --from "$I/values16/cms.yaml"
run bomb11 "$B" build "$I/bomb11"
run docs1e6 "$B" build "$I/docs1e6"
run anchors "$B" build "$I/anchors"
run scan40 "$B" setters scan "$I/setters40"
run apply40 "$B" setters apply --dry-run --policy flux-system:app=ghcr.io/org/app:2.0.0 "$I/setters40"
run scan64 "$B" setters scan "$I/setters64"
