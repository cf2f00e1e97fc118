#!/usr/bin/env bash
# Security sweep: run every cargo-fuzz target for a fixed time, each seeded from
# the conformance data, and print a table of executions and crashes.
#
#   bash tools/fuzz-sweep.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 600 (ten minutes per target). Seeds are generated at run
# time from $GITOPS_CONFORMANCE_DIR (default ../shared/conformance) into
# fuzz/corpus-seed/<target>/ (ignored by git) and merged with the committed
# fuzz/corpus/<target>/ when present. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Results: fuzz/sweep/<target>.log and a summary
# on stdout; exits non-zero if any target crashed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-600}
shift || true
conf=${GITOPS_CONFORMANCE_DIR:-$here/../shared/conformance}
cd "$here/fuzz"
mapfile -t all < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^gitops-fuzz$')
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
mkdir -p sweep corpus-seed

# Every JSON string leaf of the given files, one seed file each.
json_strings() {
  local out=$1
  shift
  python3 - "$out" "$@" <<'PY'
import hashlib, json, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def walk(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from walk(x)
seen = 0
for f in sys.argv[2:]:
    if not os.path.exists(f):
        continue
    with open(f, encoding="utf-8") as fh:
        data = json.load(fh)
    for s in walk(data):
        b = s.encode()
        if 0 < len(b) <= 4096:
            name = hashlib.sha1(b).hexdigest()
            with open(os.path.join(out, name), "wb") as fh:
                fh.write(b)
            seen += 1
print(f"{out}: {seen} seeds", file=sys.stderr)
PY
}

# YAML files of the kustomize corpus (inputs and expected outputs).
yaml_files() {
  local out=$1
  mkdir -p "$out"
  [ -d "$conf/kustomize/cases" ] || return 0
  find "$conf/kustomize/cases" -type f \( -name '*.yaml' -o -name '*.yml' -o -name Kustomization \) \
    -size -64k | head -n 3000 | while read -r f; do
    cp "$f" "$out/$(printf '%s' "$f" | sha1sum | cut -c1-40)"
  done
}

# Concatenated kustomization trees for the kustomize_build target: each file
# as "#### <path>\n<content>", the format that target splits on.
kustomize_trees() {
  local out=$1
  mkdir -p "$out"
  [ -d "$conf/kustomize/cases" ] || return 0
  for c in "$conf"/kustomize/cases/*/input; do
    {
      (cd "$c" && find . -type f -size -64k | sort | while read -r f; do
        printf '#### %s\n' "${f#./}"
        cat "$f"
        printf '\n'
      done)
    } >"$out/$(basename "$(dirname "$c")")"
  done
}

# Image references named in the kustomize corpus (`image:` and `newName:`).
image_refs() {
  local out=$1
  mkdir -p "$out"
  [ -d "$conf/kustomize/cases" ] || return 0
  grep -rhoE '(image|newName|name): *"?[A-Za-z0-9][^ "]*' "$conf/kustomize/cases" 2>/dev/null |
    sed -E 's/^[a-zA-Z]+: *"?//' | sort -u | head -n 2000 | while read -r r; do
    printf '%s' "$r" >"$out/$(printf '%s' "$r" | sha1sum | cut -c1-40)"
  done
}

# Templates of the Helm chart corpus for gotemplate_parse: one file each,
# prefixed with the target's mode byte (odd: Sprig functions on).
chart_templates() {
  local out=$1
  mkdir -p "$out"
  [ -d "$conf/helm-charts/charts" ] || return 0
  find "$conf/helm-charts/charts" -path '*/templates/*' -type f \( -name '*.yaml' -o -name '*.tpl' -o -name '*.txt' \) \
    -size -64k | head -n 3000 | while read -r f; do
    { printf '\001'; cat "$f"; } >"$out/$(printf '%s' "$f" | sha1sum | cut -c1-40)"
  done
}

seed() {
  local t=$1 out=corpus-seed/$1
  rm -rf "$out"
  case $t in
    semver_range) json_strings "$out" "$conf"/image/masterminds_constraint_*.json "$conf"/image/flux_policy_*.json ;;
    tag_parse) json_strings "$out" "$conf"/image/masterminds_version_*.json "$conf"/image/flux_parse_version.json "$conf"/image/flux_filter.json ;;
    image_ref) image_refs "$out" ;;
    strvals) json_strings "$out" "$conf"/helm/strvals_cases.json ;;
    kustomize_build) kustomize_trees "$out" ;;
    gotemplate_parse) chart_templates "$out" ;;
    *) yaml_files "$out" ;;
  esac
  mkdir -p "$out"
  if [ -d "corpus/$t" ]; then cp -r "corpus/$t/." "$out/"; fi
}

status=0
printf '%-18s %10s %12s %8s %s\n' target seconds executions "exec/s" result
for t in "${targets[@]}"; do
  seed "$t"
  log=sweep/$t.log
  rc=0
  nice -n 19 cargo +nightly fuzz run "$t" "corpus-seed/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -max_len=65536 \
    >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="CRASH (see fuzz/$log)"
    status=1
  fi
  printf '%-18s %10s %12s %8s %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "$result"
done
exit $status
