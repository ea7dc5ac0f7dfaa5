"""No import cycles in ``harness``: a static walk of every module's module-level imports.

Only imports that run when a module is first imported count: those at the top level of the
file, including inside module-level ``if`` / ``try`` blocks, but not under ``if TYPE_CHECKING:``
and not inside functions or classes (a deferred import is how a real dependency loop is broken
on purpose). ``from pkg import name`` is an edge to the submodule ``pkg.name`` when there is one,
else to ``pkg``; a submodule does not depend on its parent package's ``__init__`` here, as
Python runs that ``__init__`` before the submodule either way.
"""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

Graph = dict[str, set[str]]  # module -> the modules it imports at import time


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the package directory ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


def top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported (see the module doc)."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody
            todo += [s for h in node.handlers for s in h.body]
    return found


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known_prefix(name: str, known: set[str]) -> str | None:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in known:
            return ".".join(parts[:n])
    return None


def import_graph(root: Path) -> Graph:
    """Edges between the modules of the package at ``root`` (imports of others are dropped)."""
    files = module_files(root)
    known, graph = set(files), {}
    for module, path in files.items():
        edges = set()
        for node in top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _absolute(module, path.name == "__init__.py", node)
                targets = [f"{base}.{alias.name}" for alias in node.names]
            edges |= {t for t in (_known_prefix(t, known) for t in targets) if t}
        graph[module] = edges - {module}
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Every group of modules that import each other (Tarjan's strongly connected components of
    more than one module), each sorted; [] when the graph has no cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "pkg"


# ---------------------------------------------------------------- the detector itself


def test_the_detector_finds_a_two_module_cycle_through_from_imports(tmp_path: Path) -> None:
    pkg = write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a  # noqa\n",
            "pkg/a.py": "import os\nfrom pkg.b import thing\n",
            "pkg/b.py": "from . import a\nthing = 1\n",
            "pkg/c.py": "from pkg import b\n",  # depends on the cycle, is not part of it
        },
    )
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_the_detector_ignores_deferred_and_type_checking_imports(tmp_path: Path) -> None:
    pkg = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg import a\n"
                "def late():\n    from pkg import a\n"
            ),
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == set()
    assert cycles(graph) == []


def test_the_detector_follows_module_level_try_blocks_and_subpackages(tmp_path: Path) -> None:
    """The shape attacks.py and autoattack.py had: each imports the other at import time."""
    pkg = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/attacks.py": "x = 1\ntry:\n    from pkg.sub import autoattack\nexcept ImportError:\n    pass\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/autoattack.py": "import pkg.attacks\n",
        },
    )
    assert cycles(import_graph(pkg)) == [["pkg.attacks", "pkg.sub.autoattack"]]


# ---------------------------------------------------------------- harness


def test_the_walk_sees_the_attacks_package() -> None:
    graph = import_graph(HARNESS)
    assert {"harness.attacks.pgd", "harness.attacks.autoattack"} <= graph["harness.attacks"]
    assert "harness.attacks.base" in graph["harness.attacks.autoattack"]
    assert "harness.attacks" not in graph["harness.attacks.base"]


def test_harness_has_no_import_cycle() -> None:
    assert cycles(import_graph(HARNESS)) == []
