"""Prints the package's import graph by folder, its import cycles, and the modules that import dagster.

Usage: python3 scripts/import_graph.py [--modules]   (from the repository root; reads source, runs none of it)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "ingest_pipeline"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, modules: set[str] = frozenset()) -> set[str]:
    """Every module (of any package) the file imports at any depth, functions included. `from P import m`
    of a submodule `m` counts as importing `P.m`, not the package `P` (whose __init__ only runs first)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}
    edges = {}
    for name, path in modules.items():
        edges[name] = {m for m in imports_of(path, name, set(modules)) if m in modules and m != name}
    return edges


def folder(module: str) -> str:
    """The room a module lives in: its first folder under the package, or the module itself at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in edges.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="also print every module-to-module edge")
    args = parser.parse_args()
    root = Path.cwd()
    edges = graph(root)
    by_folder: dict[str, set[str]] = defaultdict(set)
    for source, targets in edges.items():
        by_folder[folder(source)].update(folder(t) for t in targets if folder(t) != folder(source))
    print(f"{len(edges)} modules in {len(by_folder)} folders; folder -> folders it imports:")
    for name in sorted(by_folder):
        print(f"  {name:<16} -> {', '.join(sorted(by_folder[name])) or '-'}")
    folder_cycles = cycles({k: set(v) for k, v in by_folder.items()})
    print(f"folder cycles: {len(folder_cycles)}")
    for component in folder_cycles:
        print("  " + " <-> ".join(component))
    module_cycles = cycles(edges)
    print(f"module cycles: {len(module_cycles)}")
    for component in module_cycles:
        print("  " + " <-> ".join(component))
    dagster_users = sorted(m for m, p in ((module_name(p, root), p) for p in (root / PACKAGE).rglob("*.py"))
                           if any(i == "dagster" or i.startswith("dagster.") for i in imports_of(p, m)))
    print(f"modules importing dagster: {len(dagster_users)}")
    for name in dagster_users:
        print(f"  {name}")
    if args.modules:
        for source in sorted(edges):
            print(f"{source} -> {', '.join(sorted(edges[source]))}")


if __name__ == "__main__":
    main()
