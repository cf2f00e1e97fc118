#!/usr/bin/env bash
# Time `gitops cluster` on the layouts the README's "How fast" table names:
#
#   1. the classic layout (gitops-cluster/tests/fixtures/classic, the shape
#      of flux2-kustomize-helm-example: apps + infrastructure, staging +
#      production) with its real charts — podinfo, ingress-nginx and
#      cert-manager from the conformance corpus, packaged with `helm
#      package` and served by a local Helm repository — fetched once into a
#      cache, then `gitops cluster build all` end to end per cluster;
#   2. a synthetic repository of 500 Kustomizations (tools/gen_cluster.py)
#      with a one-file change: `gitops cluster diff all` against the other
#      directory (--path-orig) and against the Git base revision (--base).
#
#   bash tools/cluster-speed.sh [RUNS]      RUNS defaults to 15
#
# Needs hyperfine, jq, python3 and the helm oracle (tools/fetch-oracles.sh);
# the corpus from $GITOPS_CONFORMANCE_DIR (default ../shared/conformance).
# Prints the median wall time and one run's peak resident memory.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-15}
corpus=${GITOPS_CONFORMANCE_DIR:-$here/../shared/conformance}/helm-charts/charts
[ -d "$corpus" ] || { echo "cluster-speed: $corpus not found (set GITOPS_CONFORMANCE_DIR)" >&2; exit 1; }
eval "$(bash "$here/tools/fetch-oracles.sh")"
for t in hyperfine jq python3 helm git; do
  command -v "$t" >/dev/null || { echo "cluster-speed: $t not found" >&2; exit 1; }
done
echo "building gitops (release)…" >&2
(cd "$here" && cargo build --release --quiet -p gitops-examples --bin gitops)
gitops=$here/target/release/gitops
work=$(mktemp -d)
server=
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A Helm repository of the three charts on a loopback port.
mkdir -p "$work/charts"
helm package -d "$work/charts" "$corpus/podinfo__podinfo" >/dev/null
helm package -d "$work/charts" "$corpus/ingress-nginx__ingress-nginx" >/dev/null
helm package -d "$work/charts" --version 1.16.1 --app-version v1.16.1 "$corpus/cert-manager__cert-manager" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
helm repo index "$work/charts" --url "http://127.0.0.1:$port"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/charts" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
cp -r "$here/gitops-cluster/tests/fixtures/classic" "$work/classic"
grep -rl 'https://' "$work/classic" | xargs sed -i -E \
  "s#https://(charts.jetstack.io|kubernetes.github.io/ingress-nginx|stefanprodan.github.io/podinfo)#http://127.0.0.1:$port#"

measure() { # label, command…
  local label=$1; shift
  local q; q=$(printf '%q ' "$@")
  hyperfine -N --warmup 2 --runs "$runs" --output=null --export-json "$work/hf.json" "$q" >/dev/null 2>&1
  local wall; wall=$(jq '.results[0].median * 1000' "$work/hf.json")
  /usr/bin/time -f '%M' "$@" >/dev/null 2>"$work/t" || true
  printf '%-52s %8.1f ms %8.0f MiB\n' "$label" "$wall" "$(awk -v k="$(tail -n 1 "$work/t")" 'BEGIN{print k/1024}')"
}

printf '%-52s %11s %12s\n' "" "median" "peak RSS"
for env in staging production; do
  args=(cluster build all --path "$work/classic/clusters/$env" --cache-dir "$work/cache")
  "$gitops" "${args[@]}" --fetch >/dev/null
  measure "classic $env: build all (3 charts, cached)" "$gitops" "${args[@]}"
  measure "classic $env: test all" "$gitops" cluster test all --path "$work/classic/clusters/$env" --cache-dir "$work/cache"
done

python3 "$here/tools/gen_cluster.py" "$work/gc" >/dev/null
cp -r "$work/gc" "$work/gc-new"
sed -i 's/APP_COLOUR: blue/APP_COLOUR: green/' "$work/gc-new/apps/app-250/configmap.yaml"
measure "500 Kustomizations: build all" "$gitops" cluster build all --path "$work/gc/clusters/prod"
measure "500 Kustomizations: one-file diff, --path-orig" \
  "$gitops" cluster diff all --path "$work/gc-new/clusters/prod" --path-orig "$work/gc/clusters/prod"
measure "500 Kustomizations: same, --full (no changed-only)" \
  "$gitops" cluster diff all --full --path "$work/gc-new/clusters/prod" --path-orig "$work/gc/clusters/prod"
git -C "$work/gc" init -q -b main
git -C "$work/gc" add -A
git -C "$work/gc" -c user.name=bench -c user.email=bench@example.com commit -qm base
git -C "$work/gc" gc -q
sed -i 's/APP_COLOUR: blue/APP_COLOUR: green/' "$work/gc/apps/app-250/configmap.yaml"
measure "500 Kustomizations: one-file diff, --base HEAD" \
  "$gitops" cluster diff all --path "$work/gc/clusters/prod" --base HEAD
