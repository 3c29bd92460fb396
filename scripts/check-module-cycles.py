#!/usr/bin/env python3
"""Fails when two modules of a crate import each other, directly or around a circle.

Reads every crate under crates/ (or the crate directories given), maps each source file to
its module path (src/a.rs and src/a/mod.rs are `a`, src/a/b.rs is `a::b`) and draws an edge
A -> B for every `crate::B...` path and every `super::...` path in A that names another
module. The crate root (lib.rs / main.rs) is the top of the crate and is left out; test code
(`#[cfg(test)]` modules, inline or in their own files) is left out too. Any strongly
connected group of two or more modules is printed with the lines that make it, and the
script exits 1.

    scripts/check-module-cycles.py                  # every crate
    scripts/check-module-cycles.py crates/wharf-ecs # one crate
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\b(crate|super)::\{([^}]*)\}", re.S)
TEST_MOD_RE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;")
INLINE_TEST_RE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+[a-z_][a-z0-9_]*\s*\{")


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts in (["lib"], ["main"]):
        return ()
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def strip_inline_tests(text: str) -> str:
    """Drops `#[cfg(test)] mod x { ... }` blocks (brace-matched)."""
    out, pos = [], 0
    for m in INLINE_TEST_RE.finditer(text):
        if m.start() < pos:
            continue
        out.append(text[pos : m.start()])
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        pos = i
    out.append(text[pos:])
    return "".join(out)


def resolve(modules: set[tuple[str, ...]], base: tuple[str, ...], segments: list[str]):
    """The longest module named by `base` + `segments`, or None (the root or an item)."""
    path = list(base)
    best = None
    for seg in segments:
        path.append(seg)
        if tuple(path) in modules:
            best = tuple(path)
    return best


def check_crate(crate: Path) -> list[str]:
    src = crate / "src"
    if not src.is_dir():
        return []
    files = {module_of(src, f): f for f in sorted(src.rglob("*.rs"))}
    test_modules: set[tuple[str, ...]] = set()
    for mod, f in files.items():
        for name in TEST_MOD_RE.findall(strip_comments(f.read_text())):
            test_modules.add(mod + (name,))
    modules = {m for m in files if m}
    live = {m for m in modules if not any(m[: len(t)] == t for t in test_modules)}
    edges: dict[tuple[str, ...], dict[tuple[str, ...], int]] = {m: {} for m in live}
    for mod in live:
        text = strip_inline_tests(strip_comments(files[mod].read_text()))
        # The module's own parent for `super::` (a file module `a::b` has parent `a`).
        parent = mod[:-1]

        def add(kind: str, segments: list[str], offset: int):
            base = () if kind == "crate" else parent
            target = resolve(modules, base, segments)
            if target and target in live and target != mod and mod[: len(target)] != target:
                line = text.count("\n", 0, offset) + 1
                edges[mod].setdefault(target, line)

        for m in PATH_RE.finditer(text):
            add(m.group(1), m.group(2).split("::")[1:], m.start())
        for m in USE_GROUP_RE.finditer(text):
            for item in m.group(2).split(","):
                segs = [s for s in item.strip().split("::") if s and s not in ("self", "*")]
                segs = [re.split(r"\s|\{", s)[0] for s in segs]
                if segs:
                    add(m.group(1), segs, m.start())

    problems = []
    for group in strongly_connected(edges):
        if len(group) < 2:
            continue
        names = sorted("::".join(m) for m in group)
        lines = [
            f"    {'::'.join(a)} -> {'::'.join(b)}  ({files[a].relative_to(ROOT)}:{line})"
            for a in sorted(group)
            for b, line in sorted(edges[a].items())
            if b in group
        ]
        problems.append(f"{crate.name}: modules import each other: {', '.join(names)}\n" + "\n".join(lines))
    return problems


def strongly_connected(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

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
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            out.append(group)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    crates = [Path(a).resolve() for a in argv] or sorted((ROOT / "crates").iterdir())
    problems = [p for c in crates for p in check_crate(c)]
    for p in problems:
        print(p)
    if problems:
        print(f"\n{len(problems)} module cycle(s): move the shared piece into a module both can use")
        return 1
    print(f"no module cycles in {len(crates)} crate(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
