#!/usr/bin/env python3
"""Generate a synthetic Flux CD repository of arbitrary size.

The layout mirrors a plain "fleet" repository bootstrapped by `flux bootstrap`:

    OUT_DIR/
      clusters/prod/
        flux-system/gotk-sync.yaml       GitRepository flux-system + Kustomization
        flux-system/kustomization.yaml   (path ./clusters/prod)
        vars.yaml                        ConfigMap flux-system/cluster-vars
        apps/apps-NN.yaml                N Flux Kustomizations app-NNN, ~50 a file
      apps/
        base/                            shared Deployment + Service (fixed image)
        app-NNN/                         one overlay per app: ../base, a ConfigMap,
                                         a Namespace, namespace + namePrefix

Every 10th app depends on the app before it; every 5th uses
postBuild.substitute/substituteFrom (ConfigMap cluster-vars) and `${...}`
variables in its ConfigMap, including one `${var:=default}` with no value in
cluster-vars. The cluster directory and clusters/prod/apps have no
kustomization.yaml by default, so Flux generates one from every YAML file
below them (pass --index to write explicit ones instead).

The output depends only on the arguments: same N and seed, same bytes.

Example:
    tools/gen_cluster.py /tmp/gc500
    gitops cluster test all --path /tmp/gc500/clusters/prod --root /tmp/gc500
    # -> 501 passed (500 apps + flux-system), 0 failed

Only the Python standard library is used.
"""

import argparse
import os
import random
import shutil
import sys

MARKER = ".gen_cluster"
PER_FILE = 50
IMAGE = "ghcr.io/example/podinfo:6.7.1"
REPO_URL = "https://github.com/example/synthetic-fleet"


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def bootstrap():
    sync = f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: {REPO_URL}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""
    kust = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-sync.yaml
"""
    return sync, kust


def cluster_vars(rng):
    region = rng.choice(["eu-west-1", "eu-central-1", "us-east-2", "ap-south-1"])
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  cluster_name: prod
  cluster_region: {region}
  log_level: info
  replicas_default: "2"
"""


def base_files():
    deployment = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
    spec:
      containers:
        - name: web
          image: {IMAGE}
          ports:
            - name: http
              containerPort: 9898
          envFrom:
            - configMapRef:
                name: settings
          resources:
            requests:
              cpu: 10m
              memory: 32Mi
"""
    service = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: web
  ports:
    - name: http
      port: 80
      targetPort: http
"""
    kust = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
"""
    return {"deployment.yaml": deployment, "service.yaml": service,
            "kustomization.yaml": kust}


def app_name(i, width):
    return f"app-{i:0{width}d}"


def flux_ks(i, width, substitutes):
    name = app_name(i, width)
    lines = [
        "apiVersion: kustomize.toolkit.fluxcd.io/v1",
        "kind: Kustomization",
        "metadata:",
        f"  name: {name}",
        "  namespace: flux-system",
        "spec:",
        "  interval: 10m",
        "  retryInterval: 1m",
        "  timeout: 3m",
        f"  path: ./apps/{name}",
        "  prune: true",
        "  sourceRef:",
        "    kind: GitRepository",
        "    name: flux-system",
    ]
    if i % 10 == 0 and i > 1:
        lines += ["  dependsOn:", f"    - name: {app_name(i - 1, width)}"]
    if substitutes:
        lines += [
            "  postBuild:",
            "    substitute:",
            f"      app_id: {name}",
            "    substituteFrom:",
            "      - kind: ConfigMap",
            "        name: cluster-vars",
        ]
    return "\n".join(lines) + "\n"


def app_files(i, width, substitutes, rng):
    name = app_name(i, width)
    replicas = rng.randint(1, 4)
    tier = rng.choice(["frontend", "backend", "worker", "batch"])
    colour = rng.choice(["red", "green", "blue", "amber", "violet"])
    data = [
        f"  APP_TIER: {tier}",
        f"  APP_COLOUR: {colour}",
    ]
    if substitutes:
        data += [
            '  APP_ID: "${app_id}"',
            '  CLUSTER: "${cluster_name}"',
            '  REGION: "${cluster_region}"',
            '  PUBLIC_URL: "https://' + name + '.${cluster_domain:=apps.example.net}"',
        ]
    else:
        data += [f"  APP_ID: {name}"]
    configmap = "\n".join([
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: settings",
        "data:",
    ] + data) + "\n"
    namespace = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
"""
    kust = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {name}
namePrefix: {name}-
labels:
  - pairs:
      app.kubernetes.io/part-of: {name}
resources:
  - namespace.yaml
  - ../base
  - configmap.yaml
replicas:
  - name: web
    count: {replicas}
"""
    return {"kustomization.yaml": kust, "configmap.yaml": configmap,
            "namespace.yaml": namespace}


def prepare(out):
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.exists(os.path.join(out, MARKER)):
            sys.exit(f"gen_cluster: {out} is not empty and was not made by "
                     "this script; refusing to write into it")
        for sub in ("clusters", "apps"):
            shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    os.makedirs(out, exist_ok=True)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="A directory previously written by this script is regenerated "
               "in place; any other non-empty directory is refused.")
    ap.add_argument("out_dir", metavar="OUT_DIR",
                    help="where to write the repository")
    ap.add_argument("--kustomizations", "-n", type=int, default=500,
                    metavar="N", help="number of app Kustomizations (default 500)")
    ap.add_argument("--seed", type=int, default=1, metavar="S",
                    help="random seed for the per-app details (default 1)")
    ap.add_argument("--index", action="store_true",
                    help="also write kustomization.yaml files in clusters/prod "
                         "and clusters/prod/apps (default: let Flux generate them)")
    args = ap.parse_args(argv)
    if args.kustomizations < 0:
        ap.error("--kustomizations must be >= 0")

    n = args.kustomizations
    out = args.out_dir
    rng = random.Random(args.seed)
    width = max(3, len(str(n)))
    prepare(out)
    write(out, MARKER, f"kustomizations={n} seed={args.seed}\n")

    sync, kust = bootstrap()
    write(out, "clusters/prod/flux-system/gotk-sync.yaml", sync)
    write(out, "clusters/prod/flux-system/kustomization.yaml", kust)
    write(out, "clusters/prod/vars.yaml", cluster_vars(rng))

    for fname, text in base_files().items():
        write(out, f"apps/base/{fname}", text)

    ks_files = []
    for start in range(1, n + 1, PER_FILE):
        stop = min(start + PER_FILE, n + 1)
        docs = []
        for i in range(start, stop):
            substitutes = i % 5 == 0
            docs.append(flux_ks(i, width, substitutes))
            for fname, text in app_files(i, width, substitutes, rng).items():
                write(out, f"apps/{app_name(i, width)}/{fname}", text)
        fname = f"apps-{len(ks_files) + 1:02d}.yaml"
        write(out, f"clusters/prod/apps/{fname}", "---\n".join(docs))
        ks_files.append(fname)

    if args.index:
        write(out, "clusters/prod/apps/kustomization.yaml",
              "apiVersion: kustomize.config.k8s.io/v1beta1\n"
              "kind: Kustomization\nresources:\n"
              + "".join(f"  - {f}\n" for f in ks_files))
        write(out, "clusters/prod/kustomization.yaml",
              "apiVersion: kustomize.config.k8s.io/v1beta1\n"
              "kind: Kustomization\nresources:\n"
              "  - flux-system\n  - vars.yaml\n"
              + ("  - apps\n" if ks_files else ""))

    print(f"gen_cluster: wrote {n} Kustomizations in {len(ks_files)} files "
          f"to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
