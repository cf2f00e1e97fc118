#!/usr/bin/env python3
"""Print the import cycles between the source files of one crate.

Usage: tools/module-cycles.py CRATE_SRC_DIR [--max N]

Each `.rs` file under the directory is a node (a `mod.rs` stands for its
directory). An edge A -> B exists when A names a path that resolves into B:
`crate::x::y`, `super::x`, `self::x` in `use` statements or inline paths
(tests modules included, since they are part of the file). The strongly
connected components with more than one file are printed, largest first.
With `--max N` the exit status is 1 when a component spans more than N files.
"""

import os
import re
import sys


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        s = line.lstrip()
        if s.startswith("//"):
            continue
        out.append(line)
    return "\n".join(out)


def main():
    args = sys.argv[1:]
    limit = None
    if "--max" in args:
        i = args.index("--max")
        limit = int(args[i + 1])
        del args[i : i + 2]
    root = args[0]
    files = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(dirpath, n)
                files[module_of(root, p)] = p
    modules = set(files)

    def resolve(parts):
        # longest prefix that is a file module
        for k in range(len(parts), 0, -1):
            if tuple(parts[:k]) in modules:
                return tuple(parts[:k])
        return None

    path_re = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*|::\{)+)")
    edges = {m: set() for m in modules}
    for m, p in files.items():
        text = strip_comments(open(p, encoding="utf-8").read())
        is_dir_mod = os.path.basename(p) in ("mod.rs", "lib.rs")
        # expand `use a::{b, c::{d}}` groups coarsely: every identifier path inside braces
        for use in re.finditer(r"\buse\s+([^;]+);", text, flags=re.S):
            body = use.group(1)
            for head, rest in expand_use(body):
                add_edge(edges, m, is_dir_mod, head, rest, resolve)
        for hit in path_re.finditer(text):
            head = hit.group(1)
            rest = [s for s in hit.group(2).split("::") if s and s != "{"]
            add_edge(edges, m, is_dir_mod, head, rest, resolve)

    sccs = tarjan(edges)
    big = sorted((c for c in sccs if len(c) > 1), key=len, reverse=True)
    worst = 0
    for c in big:
        worst = max(worst, len(c))
        print(f"{len(c)} files: " + ", ".join(sorted("/".join(x) or "lib" for x in c)))
    if not big:
        print("no cycle between files")
    if limit is not None and worst > limit:
        print(f"error: a cycle spans {worst} files (allowed: {limit})", file=sys.stderr)
        sys.exit(1)


def expand_use(body):
    body = re.sub(r"\s+", "", body)
    out = []

    def walk(prefix, s):
        # s: comma separated list at one level
        depth, start = 0, 0
        items = []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(s[start:i])
                start = i + 1
        items.append(s[start:])
        for it in items:
            if not it:
                continue
            if "{" in it:
                head, _, inner = it.partition("{")
                inner = inner[: inner.rfind("}")]
                walk(prefix + [x for x in head.split("::") if x], inner)
            else:
                out.append(prefix + [x for x in it.split(" as ")[0].split("::") if x])

    walk([], body)
    res = []
    for parts in out:
        if parts and parts[0] in ("crate", "super", "self"):
            res.append((parts[0], parts[1:]))
    return res


def add_edge(edges, m, is_dir_mod, head, rest, resolve):
    if head == "crate":
        base = []
    elif head == "self":
        base = list(m) if is_dir_mod else list(m)
    else:  # super
        base = list(m[:-1]) if not is_dir_mod else list(m[:-1])
        while rest and rest[0] == "super":
            base = base[:-1]
            rest = rest[1:]
    target = resolve(base + list(rest))
    if target is None:
        target = resolve(base) if base else ()
        if target is None:
            target = ()
    if target != m and target in edges:
        edges[m].add(target)


def tarjan(edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in edges:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    main()
