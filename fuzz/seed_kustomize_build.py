#!/usr/bin/env python3
"""Write seeds for the kustomize_build fuzz target from the conformance corpus.

Each seed is one case's input tree in the target's format: the root
kustomization.yaml first, then one `#### PATH` line before every other file.
Seeds are generated at run time and never committed (the corpus is shared
data). Usage: seed_kustomize_build.py [CONFORMANCE_DIR] [OUT_DIR] [MAX]
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
conf = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    "GITOPS_CONFORMANCE_DIR", os.path.join(here, "..", "..", "shared", "conformance"))
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "corpus", "kustomize_build")
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 400
cases = os.path.join(conf, "kustomize", "cases")
if not os.path.isdir(cases):
    sys.exit(f"no conformance cases at {cases}")
os.makedirs(out, exist_ok=True)
written = 0
for name in sorted(os.listdir(cases))[:limit]:
    root = os.path.join(cases, name, "input")
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            with open(p, "rb") as f:
                files[rel] = f.read().decode("utf-8", "replace")
    if "kustomization.yaml" not in files:
        continue
    text = files.pop("kustomization.yaml")
    for rel, body in sorted(files.items()):
        text += f"\n#### {rel}\n{body}"
    if len(text.encode()) > 32 * 1024:
        continue
    with open(os.path.join(out, name), "w") as f:
        f.write(text)
    written += 1
print(f"wrote {written} seeds to {out}")
