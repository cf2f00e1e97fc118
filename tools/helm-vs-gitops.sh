#!/usr/bin/env bash
# Time `helm template` against `gitops helm template` on the same command
# lines: the default cases of podinfo, cert-manager and kube-prometheus-stack
# from the conformance corpus, release build of gitops.
#
#   bash tools/helm-vs-gitops.sh [RUNS]        RUNS defaults to 20
#
# Uses hyperfine when installed, else a loop timed with /usr/bin/time. Prints
# per case: median wall time of each, the ratio helm/gitops (above 1: gitops
# is faster), peak resident memory of one run of each, and whether the two
# outputs are identical. `helm` is taken from PATH, else installed by
# tools/fetch-oracles.sh. The corpus is $GITOPS_CONFORMANCE_DIR/helm-charts
# (default ../shared/conformance/helm-charts). A chart whose vendored
# subcharts (index.json `vendored_dependencies`) are missing from its
# charts/ is run from a temporary copy completed with the corpus's
# standalone charts of the same name and version (kube-prometheus-stack),
# for both tools; the copy is removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
conf=${GITOPS_CONFORMANCE_DIR:-$here/../shared/conformance}/helm-charts
[ -d "$conf" ] || { echo "helm-vs-gitops: corpus not found at $conf (set GITOPS_CONFORMANCE_DIR)" >&2; exit 1; }
command -v helm >/dev/null || eval "$(bash "$here/tools/fetch-oracles.sh")"
helm=$(command -v helm)
echo "building gitops (release)…" >&2
(cd "$here" && cargo build --release --quiet -p gitops-examples --bin gitops)
gitops=$here/target/release/gitops
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HELM_CACHE_HOME=$scratch/cache HELM_CONFIG_HOME=$scratch/config HELM_DATA_HOME=$scratch/data
export KUBECONFIG=$scratch/no-kubeconfig
cd "$conf"

cases=(podinfo__podinfo__default cert-manager__cert-manager__default
  prometheus-community__kube-prometheus-stack__default)

# The directory to render for corpus chart $1: itself, or a copy in
# $scratch/charts with the missing vendored subcharts added.
chart_dir() {
  local c=$1 leaf=${1##*/} within name version src sub copy=
  while IFS=$'\t' read -r name version src within; do
    sub=${within:+$within/}charts/$name
    [ -e "$c/$sub" ] || [ -e "$c/${within:+$within/}charts/$name-$version.tgz" ] && continue
    if [ -z "$copy" ]; then
      copy=$scratch/charts/$leaf
      mkdir -p "$scratch/charts"
      cp -R "$c" "$copy"
    fi
    mkdir -p "$(dirname "$copy/$sub")"
    cp -R "$src" "$copy/$sub"
  done < <(jq -r --arg c "$c" '
    .charts as $all
    | .charts[] | select(.dir == $c) | .vendored_dependencies[]
    | select(.version != null and .parent != null)
    | select(.parent == $c or (.parent | startswith($c + "/")))
    | . as $d
    | first($all[] | select(.name == $d.name and .version == $d.version) | .dir) as $src
    | [$d.name, $d.version, $src, ($d.parent | ltrimstr($c) | ltrimstr("/"))] | @tsv' index.json)
  echo "${copy:-$c}"
}

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# peak RSS in KB of one run
rss() { /usr/bin/time -f '%M' "$@" >/dev/null 2>"$scratch/rss" || true; tail -n 1 "$scratch/rss"; }

printf '%-55s %10s %10s %7s %10s %10s %s\n' case "helm (ms)" "gitops(ms)" ratio "helm KB" "gitops KB" output
for id in "${cases[@]}"; do
  [ -f "cases/$id/args.json" ] || { echo "$id: not in the corpus, skipped" >&2; continue; }
  chart=$(jq -r '.chart' "cases/$id/args.json")
  dir=$(chart_dir "$chart")
  mapfile -t args < <(jq -r --arg c "$chart" --arg d "$dir" \
    '.argv[2:][] | if . == $c then $d else . end' "cases/$id/args.json")
  h=("$helm" template "${args[@]}")
  g=("$gitops" helm template "${args[@]}")
  "${h[@]}" >"$scratch/h.out" 2>/dev/null && hrc=0 || hrc=$?
  "${g[@]}" >"$scratch/g.out" 2>/dev/null && grc=0 || grc=$?
  if [ "$hrc" -ne 0 ] || [ "$grc" -ne 0 ]; then
    same="exit helm=$hrc gitops=$grc"
  elif cmp -s "$scratch/h.out" "$scratch/g.out"; then
    same=identical
  else
    same="differs ($( (diff "$scratch/h.out" "$scratch/g.out" || true) | grep -c '^[<>]') lines; random functions?)"
  fi
  if command -v hyperfine >/dev/null; then
    q() { printf '%q ' "$@"; }
    hyperfine -N -i --warmup 2 --runs "$runs" --export-json "$scratch/hf.json" \
      "$(q "${h[@]}")" "$(q "${g[@]}")" >/dev/null 2>&1
    hm=$(jq '.results[0].median * 1000' "$scratch/hf.json")
    gm=$(jq '.results[1].median * 1000' "$scratch/hf.json")
  else
    for tool in h g; do
      : >"$scratch/$tool.times"
      for _ in $(seq "$runs"); do
        if [ $tool = h ]; then cmd=("${h[@]}"); else cmd=("${g[@]}"); fi
        /usr/bin/time -f '%e' "${cmd[@]}" >/dev/null 2>"$scratch/t" || true
        tail -n 1 "$scratch/t" >>"$scratch/$tool.times"
      done
    done
    hm=$(median <"$scratch/h.times" | awk '{print $1*1000}')
    gm=$(median <"$scratch/g.times" | awk '{print $1*1000}')
  fi
  ratio=$(awk -v a="$hm" -v b="$gm" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }')
  printf '%-55s %10.1f %10.1f %7s %10s %10s %s\n' "$id" "$hm" "$gm" "$ratio" \
    "$(rss "${h[@]}")" "$(rss "${g[@]}")" "$same"
done
