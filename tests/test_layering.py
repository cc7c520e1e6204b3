"""The package's floors (issue 29): every module of cfc_ref/ sits on a floor and imports only from its own floor or
below — at module level and inside functions alike — and no two modules import each other, however indirectly.
Data flows one way: base → components → the data path → evaluation → detector and data → training → experiment →
conformance → command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cfc_testing import ROOT

PACKAGE = ROOT / "cfc_ref"

# (floor, module prefixes); a module belongs to the floor of its longest matching prefix
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("cfc_ref", "cfc_ref.errors", "cfc_ref.fileio", "cfc_ref.configfile", "cfc_ref.timing",
              "cfc_ref.locking", "cfc_ref.device", "cfc_ref.progress", "cfc_ref.plotting", "cfc_ref.processes",
              "cfc_ref.benchhistory", "cfc_ref.implementations", "cfc_ref.escaping")),
    ("components", ("cfc_ref.qlayer", "cfc_ref.tiling", "cfc_ref.codecs", "cfc_ref.container", "cfc_ref.accounting",
                    "cfc_ref.baseline", "cfc_ref.fast", "cfc_ref.fast.qlayer_numpy", "cfc_ref.fast.qlayer_torch",
                    "cfc_ref.fast.tiling", "cfc_ref.fast.fused")),
    ("data path", ("cfc_ref.pipeline", "cfc_ref.demo")),
    ("evaluation", ("cfc_ref.metrics", "cfc_ref.fast.voc")),
    ("detector and data", ("cfc_ref.detector", "cfc_ref.fast.region", "cfc_ref.fast.detector", "cfc_ref.data",
                           "cfc_ref.zoo")),
    ("training", ("cfc_ref.training",)),
    ("experiment", ("cfc_ref.experiment",)),
    ("conformance", ("cfc_ref.conformance",)),
    ("command line", ("cfc_ref.cli",)),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "golden" in path.relative_to(PACKAGE).parts:  # the wheel's copy of golden/, not code
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _floor(module: str) -> int:
    matches = [(len(prefix), number) for number, (_, prefixes) in enumerate(FLOORS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} has no floor: add it to FLOORS in tests/test_layering.py"
    return max(matches)[1]


def _owner(name: str) -> str:
    """The module an imported name lives in (``cfc_ref.a.b.c`` → ``cfc_ref.a.b`` when c is a name in it)."""
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(module: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cfc_ref":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else _owner(node.module))
        elif isinstance(node, ast.Import):
            found |= {_owner(a.name) for a in node.names if a.name.split(".")[0] == "cfc_ref"}
    return found - {module, "cfc_ref"}


GRAPH = {module: _imports(module) for module in MODULES}


def upward(graph: dict[str, set[str]], module: str) -> list[str]:
    """The imports of ``module`` from a floor above its own."""
    return sorted(m for m in graph[module] if _floor(m) > _floor(module))


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_from_its_floor_or_below(module):
    above = upward(GRAPH, module)
    assert not above, (f"{module} (floor {FLOORS[_floor(module)][0]!r}) imports from above: "
                       + ", ".join(f"{m} ({FLOORS[_floor(m)][0]})" for m in above))


def test_no_two_modules_import_each_other_however_indirectly():
    assert circles(GRAPH) == []


def test_the_checks_have_teeth():
    """A planted import from a floor above, and a planted circle through a lazy import, are both found."""
    planted = {m: set(deps) for m, deps in GRAPH.items()}
    planted["cfc_ref.metrics.curves"].add("cfc_ref.experiment.store")  # metrics reading the SQLite store
    assert upward(planted, "cfc_ref.metrics.curves") == ["cfc_ref.experiment.store"]
    planted["cfc_ref.metrics.files"].add("cfc_ref.data.source")  # the circle issue 29 broke
    assert ["cfc_ref.data.source", "cfc_ref.metrics.files"] in circles(planted)
