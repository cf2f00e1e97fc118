#!/usr/bin/env bash
# Time `gitops build` on the overlays gen_overlay.py generates with 1,000,
# 10,000 and 100,000 resources (release build), and print the growth per
# 10× resources.
#
#   bash tools/render-at-scale.sh [RUNS]        RUNS defaults to 5
#
# Per size: median wall time over RUNS runs (hyperfine when installed, else
# /usr/bin/time), user CPU and peak resident memory of one run, and the
# output size. The generator is $GITOPS_TOOLS/gen_overlay.py (default
# ../shared/tools); the trees are made once under $GITOPS_SCALE_DIR (default
# a temporary directory, removed at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
tools=${GITOPS_TOOLS:-$here/../shared/tools}
[ -f "$tools/gen_overlay.py" ] || { echo "render-at-scale: $tools/gen_overlay.py not found (set GITOPS_TOOLS)" >&2; exit 1; }
echo "building gitops (release)…" >&2
(cd "$here" && cargo build --release --quiet -p gitops-examples --bin gitops)
gitops=$here/target/release/gitops
if [ -n "${GITOPS_SCALE_DIR:-}" ]; then
  trees=$GITOPS_SCALE_DIR
  mkdir -p "$trees"
else
  trees=$(mktemp -d)
  trap 'rm -rf "$trees"' EXIT
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; [ -n "${GITOPS_SCALE_DIR:-}" ] || rm -rf "$trees"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

printf '%9s %10s %10s %10s %12s %8s\n' resources "wall (s)" "user (s)" "peak MiB" "output MB" growth
prev=
for r in 1000 10000 100000; do
  dir=$trees/ov$r
  [ -d "$dir/overlays/prod" ] || python3 "$tools/gen_overlay.py" "$r" "$dir" >/dev/null
  # 100,000 resources hold about 6.5 million YAML nodes: above the default
  # per-run budget of 1,000,000.
  cmd=("$gitops" build --max-yaml-nodes 8000000 "$dir/overlays/prod")
  if command -v hyperfine >/dev/null; then
    q() { printf '%q ' "$@"; }
    hyperfine -N --warmup 1 --runs "$runs" --output=null --export-json "$scratch/hf.json" \
      "$(q "${cmd[@]}")" >/dev/null 2>&1
    wall=$(jq '.results[0].median' "$scratch/hf.json")
  else
    : >"$scratch/times"
    for _ in $(seq "$runs"); do
      /usr/bin/time -f '%e' "${cmd[@]}" >/dev/null 2>"$scratch/t"
      tail -n 1 "$scratch/t" >>"$scratch/times"
    done
    wall=$(median <"$scratch/times")
  fi
  /usr/bin/time -f '%U %M' "${cmd[@]}" >"$scratch/out.yaml" 2>"$scratch/t"
  read -r user rss < <(tail -n 1 "$scratch/t")
  out=$(stat -c %s "$scratch/out.yaml")
  growth=$(awk -v a="$wall" -v p="$prev" 'BEGIN { if (p == "") print "-"; else printf "%.1fx", a / p }')
  printf '%9s %10.3f %10.2f %10.0f %12.1f %8s\n' "$r" "$wall" "$user" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" \
    "$(awk -v b="$out" 'BEGIN{print b/1e6}')" "$growth"
  prev=$wall
done
