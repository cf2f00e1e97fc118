#!/usr/bin/env bash
# Time `gitops image scan` against `skopeo list-tags` on a local CNCF
# distribution registry holding a repository with N tags (default 5000).
#
#   bash gitops-source/scripts/scan-timing.sh [N] [RUNS]
#
# Needs: docker-registry and skopeo (Debian), python3, and a built
# `gitops` binary (cargo build --release -p gitops-examples), found through
# $GITOPS_BIN or target/release/gitops. Everything runs on 127.0.0.1 and
# stops when the script exits.
set -euo pipefail
N="${1:-5000}"
RUNS="${2:-5}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
GITOPS_BIN="${GITOPS_BIN:-${CARGO_TARGET_DIR:-$here/target}/release/gitops}"
for bin in /usr/bin/docker-registry skopeo python3 "$GITOPS_BIN"; do
    command -v "$bin" >/dev/null || { echo "missing: $bin" >&2; exit 2; }
done

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
EOF
/usr/bin/docker-registry serve "$work/config.yml" >/dev/null 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null; wait $reg 2>/dev/null; rm -rf "$work"' EXIT

# Push one manifest, then point N tags at it in the registry's storage.
python3 - "$port" "$work/data" "$N" <<'EOF'
import hashlib, http.client, json, os, sys, time
port, root, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/v2/"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.05)
def req(method, path, body=b"", ctype="application/octet-stream"):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request(method, path, body=body, headers={"Content-Type": ctype})
    r = c.getresponse(); r.read(); return r
cfg = b"{}"; d = "sha256:" + hashlib.sha256(cfg).hexdigest()
loc = req("POST", "/v2/team/app/blobs/uploads/").getheader("Location")
loc = loc[loc.index("/v2/"):]
assert req("PUT", f"{loc}&digest={d}", cfg).status == 201
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d, "size": 2},
    "layers": []}).encode()
r = req("PUT", "/v2/team/app/manifests/seed", m, "application/vnd.oci.image.manifest.v1+json")
assert r.status == 201
md = r.getheader("Docker-Content-Digest"); hx = md.split(":")[1]
base = os.path.join(root, "docker/registry/v2/repositories/team/app/_manifests/tags")
for i in range(n - 1):
    t = os.path.join(base, f"1.{i // 100}.{i % 100}")
    os.makedirs(os.path.join(t, "current")); os.makedirs(os.path.join(t, "index/sha256", hx))
    for p in (os.path.join(t, "current/link"), os.path.join(t, "index/sha256", hx, "link")):
        open(p, "w").write(md)
EOF

img="127.0.0.1:$port/team/app"
count_gitops="$("$GITOPS_BIN" image scan "$img" --no-exclusions | wc -l)"
count_skopeo="$(skopeo list-tags --tls-verify=false "docker://$img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Tags"]))')"
echo "tags: gitops=$count_gitops skopeo=$count_skopeo"

time_it() { # prints the median wall time in ms of RUNS runs of "$@"
    python3 - "$RUNS" "$@" <<'EOF'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
ts = []
for _ in range(runs):
    t = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL); ts.append((time.perf_counter() - t) * 1000)
print(f"median {statistics.median(ts):.0f} ms (min {min(ts):.0f}, max {max(ts):.0f}, {runs} runs)")
EOF
}
echo "gitops image scan:   $(time_it "$GITOPS_BIN" image scan "$img" --no-exclusions)"
echo "skopeo list-tags:    $(time_it skopeo list-tags --tls-verify=false "docker://$img")"
