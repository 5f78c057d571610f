#!/usr/bin/env python3
"""Structural checks that keep the code base easy to change.

1. No Rust source file (outside tests) is longer than MAX_LINES, counting the
   lines before its `#[cfg(test)]` unit-test module.
2. No import cycle between the top-level modules of a crate. A file of
   top-level module A (`src/A.rs` or `src/A/**`) that mentions `crate::B`
   (in a `use` line or a path) is an edge A -> B; the graph must be acyclic.
   `crate::{A, B}` groups count for every name inside.

Usage: scripts/code_health.py [--graph] [CRATE_SRC_DIR ...]
Exits 1 and names the file or the cycle when a check fails.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAX_LINES = 600
ROOT = Path(__file__).resolve().parent.parent
# Source trees checked for size; the crates checked for cycles.
SIZE_TREES = ["crates/ledger/src", "crates/node/src", "crates/workstation/src", "crates/bpmn/src", "src-tauri"]
CYCLE_CRATES = ["crates/ledger/src", "crates/node/src", "crates/workstation/src", "crates/bpmn/src", "src-tauri"]

CRATE_PATH = re.compile(r"\bcrate::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)", re.S)
TEST_MOD = re.compile(r"^\s*#\[cfg\(test\)\]")


def code_lines(path: Path) -> int:
    """Lines before the first `#[cfg(test)]` item."""
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if TEST_MOD.match(line):
            break
        n += 1
    return n


def strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return "\n".join(re.sub(r"//.*$", "", line) for line in src.splitlines())


def top_module(src_dir: Path, path: Path) -> str | None:
    rel = path.relative_to(src_dir)
    if len(rel.parts) == 1:
        stem = rel.stem
        return None if stem in ("lib", "main") else stem
    return rel.parts[0]


def module_graph(src_dir: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(src_dir.rglob("*.rs")):
        mod = top_module(src_dir, path)
        if mod is None:
            continue
        text = strip_comments(path.read_text(encoding="utf-8"))
        # Unit tests may reach anywhere; only the code before them counts.
        m = re.search(r"^\s*#\[cfg\(test\)\]", text, re.M)
        if m:
            text = text[: m.start()]
        targets = graph.setdefault(mod, set())
        for hit in CRATE_PATH.finditer(text):
            item = hit.group(1)
            names = (
                re.findall(r"(?:^|[{,])\s*([A-Za-z_][A-Za-z0-9_]*)", item.strip("{}").replace("\n", " "))
                if item.startswith("{")
                else [item]
            )
            for name in names:
                if name != mod and name != "self":
                    targets.add(name)
    known = set(graph)
    return {m: {t for t in ts if t in known} for m, ts in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    white, grey, black = 0, 1, 2
    colour = {m: white for m in graph}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        colour[m] = grey
        stack.append(m)
        for t in sorted(graph[m]):
            if colour[t] == grey:
                return stack[stack.index(t):] + [t]
            if colour[t] == white:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        colour[m] = black
        return None

    for m in sorted(graph):
        if colour[m] == white:
            found = visit(m)
            if found:
                return found
    return None


def self_test() -> None:
    """The checker can fail: a cycle and an over-long file are found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        src = Path(d)
        (src / "lib.rs").write_text("mod a; mod b;\n")
        (src / "a.rs").write_text("use crate::{b::X, error};\n")
        (src / "b").mkdir()
        (src / "b" / "mod.rs").write_text("// crate::a in a comment does not count\n")
        (src / "b" / "inner.rs").write_text("fn f() { crate::a::g() }\n#[cfg(test)]\nmod t { use crate::a; }\n")
        assert module_graph(src) == {"a": {"b"}, "b": {"a"}}, module_graph(src)
        long = src / "long.rs"
        long.write_text("fn f() {}\n" * (MAX_LINES + 1) + "#[cfg(test)]\nmod tests {}\n")
        assert code_lines(long) == MAX_LINES + 1


def main(argv: list[str]) -> int:
    if "--self-test" in argv:
        self_test()
    show_graph = "--graph" in argv
    args = [a for a in argv if not a.startswith("--")]
    failures: list[str] = []

    for tree in args or SIZE_TREES:
        for path in sorted((ROOT / tree).rglob("*.rs")):
            n = code_lines(path)
            if n > MAX_LINES:
                failures.append(
                    f"{path.relative_to(ROOT)}: {n} lines before its tests (at most {MAX_LINES}); split it by concern"
                )

    for crate in args or CYCLE_CRATES:
        graph = module_graph(ROOT / crate)
        if show_graph:
            for m in sorted(graph):
                print(f"{crate}: {m} -> {', '.join(sorted(graph[m])) or '-'}")
        cycle = find_cycle(graph)
        if cycle:
            failures.append(f"{crate}: import cycle between modules: {' -> '.join(cycle)}")

    for f in failures:
        print(f"code-health: {f}", file=sys.stderr)
    if failures:
        return 1
    print(f"code-health: no source file over {MAX_LINES} lines, no module import cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
