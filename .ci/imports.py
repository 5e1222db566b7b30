#!/usr/bin/env python3
"""File-level import graph of src/: every `use` tree and inline `crate::`/`super::`/`self::`
path is resolved to the source file that defines the module it names, and the graph is checked
for cycles and for imports that point up the layers of docs/design.md#layers.

A `pub use` in a `mod.rs` or `lib.rs` is a re-export (the module's public face), not a
dependency of that file, so it is not an edge. Unit tests (`#[cfg(test)]` to the end of the file)
may reach anywhere. Exit 1 when a problem is found.

Usage: python3 .ci/imports.py [SRC_DIR]
"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
SRC = os.path.normpath(SRC)

# Top-level modules from the top layer down; a module may import only modules listed after it
# (or in its own group). Keep in sync with docs/design.md#layers.
LAYERS = [
    {"main", "lib"},
    {"cli", "serve"},
    {"runtime"},
    {"oauth"},
    {"ops"},
    {"home"},
    {"error"},
    {"store"},
    {"pool"},
    {"model"},
    {"config", "providers"},
    {"secret", "text", "time", "context", "vars", "files"},
]


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


files = {}
for d, _, fs in os.walk(SRC):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            files[module_of(p)] = p


def file_for(parts):
    """The file of the longest module prefix of `parts` that exists, and the segments after it."""
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in files:
            return tuple(parts[:n]), [p.split(" as ")[0] for p in parts[n:]]
    return None


def strip(text):
    text = text.split("#[cfg(test)]")[0]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand(tree):
    """`a::{b, c::{d, self}}` -> ['a::b', 'a::c::d', 'a::c']."""
    tree = re.sub(r"\s+", "", tree)
    i = tree.find("{")
    if i < 0:
        return [re.sub(r"::self$", "", tree.split(" as ")[0])]
    head, body = tree[:i], tree[i + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    out = []
    for p in parts:
        if p == "self":
            out.append(head.rstrip(":"))
        else:
            out.extend(expand(head + p))
    return out


def resolve(mod, path, follow=True):
    found = resolve_path(mod, path)
    if found is None:
        return None
    target, rest = found
    # `super::OAuthError::Rejected` through a facade: follow the re-export of `OAuthError`.
    seen = 0
    while follow and rest and (target, rest[0]) in reexports and seen < 10:
        target = reexports[(target, rest[0])]
        seen += 1
    return target


def resolve_path(mod, path):
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] in ("crate", "hermes"):
        base = []
        segs = segs[1:]
    elif segs[0] == "super":
        base = list(mod)
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
    elif segs[0] == "self":
        base = list(mod)
        segs = segs[1:]
    else:
        # A path relative to the current module (`use doc::AuthDoc` inside store/mod.rs).
        if (tuple(mod) + (segs[0],)) in files:
            base = list(mod)
        else:
            return None
    return file_for(base + segs)


# Names a facade (`mod.rs`, `lib.rs`) re-exports with `pub use`, and the file each comes from:
# importing `super::OAuthError` through `oauth/mod.rs` depends on `oauth/error.rs`.
reexports = {}


def collect_reexports():
    for mod, path in files.items():
        if os.path.basename(path) not in ("mod.rs", "lib.rs") and not os.path.isdir(path[:-3]):
            continue
        text = strip(open(path, encoding="utf-8").read())
        for m in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
            for p in expand(m.group(1)):
                name = re.sub(r".*::", "", p.split(" as ")[-1])
                t = resolve(mod, p, follow=False)
                if t:
                    reexports[(mod, name)] = t


edges = {m: set() for m in files}
collect_reexports()
for mod, path in files.items():
    text = strip(open(path, encoding="utf-8").read())
    facade = os.path.basename(path) in ("mod.rs", "lib.rs") or os.path.isdir(path[:-3])
    body = re.sub(r"(pub(?:\([^)]*\))?\s+)?(use\s+[^;]+|mod\s+\w+);", "", text)
    for m in re.finditer(r"(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
        for p in expand(m.group(2)):
            t = resolve(mod, p)
            if not t or t == mod:
                continue
            # A facade's re-export is an edge only when the file's own code uses the name.
            used_name = re.sub(r".*::", "", p.split(" as ")[-1])
            if m.group(1) and facade and not re.search(r"\b%s\b" % re.escape(used_name), body):
                continue
            edges[mod].add(t)
    # Inline paths: `crate::a::f()`, `super::X`, and a child module's `child::f()`.
    for m in re.finditer(r"(?<![\w:])((?:crate|super|self|\w+)(?:::\w+)+)", body):
        t = resolve(mod, m.group(1))
        if t and t != mod:
            edges[mod].add(t)

index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
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
        c = []
        while True:
            w = stack.pop()
            on.discard(w)
            c.append(w)
            if w == v:
                break
        sccs.append(c)


for v in sorted(files):
    if v not in index:
        visit(v)

name = lambda m: "/".join(m) or "lib"
problems = 0
for c in sccs:
    if len(c) > 1:
        problems += 1
        print("cycle between files:", " <-> ".join(sorted(files[m][len(SRC) + 1 :] for m in c)))


def layer(m):
    top = m[0] if m else "lib"
    for i, group in enumerate(LAYERS):
        if top in group:
            return i
    return None


for m, outs in sorted(edges.items()):
    for t in sorted(outs):
        lm, lt = layer(m), layer(t)
        if lm is None or lt is None:
            problems += 1
            print(f"not in a layer: {name(m) if lm is None else name(t)}")
        elif lt < lm:
            problems += 1
            print(f"upward import: {files[m][len(SRC) + 1:]} -> {files[t][len(SRC) + 1:]}")

print(f"files: {len(files)}, imports: {sum(len(v) for v in edges.values())}, problems: {problems}")
sys.exit(1 if problems else 0)
