"""The package's modules import each other without a circle (issue #15's "the house shows the
design"): every module can be read, and tested, from its imports down.

Only imports that run count: those under ``if TYPE_CHECKING:`` are for annotations alone.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import regflow

PACKAGE = Path(regflow.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _runtime_imports(path: Path) -> set[str]:
    """The regflow modules `path` imports when it runs (``from regflow import _otp`` is the
    submodule, not the package)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("regflow"):
            module = node.module or ""
            submodules = {f"{module}.{alias.name}" for alias in node.names} & MODULES.keys()
            found |= submodules if len(submodules) == len(node.names) else {module, *submodules}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
    return found & MODULES.keys()


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = {name: _runtime_imports(path) - {name} for name, path in MODULES.items()}

    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError

    assert set(order) == set(MODULES)


def test_the_scan_sees_a_circle_where_there_is_one() -> None:
    """The check above could pass by reading nothing: it finds the package's own imports."""
    assert "regflow.engine" in _runtime_imports(MODULES["regflow.testing"]) | _runtime_imports(
        MODULES["regflow.tools._fakes"]
    )
    circle = {"a": {"b"}, "b": {"a"}}
    try:
        list(graphlib.TopologicalSorter(circle).static_order())
    except graphlib.CycleError:
        return
    raise AssertionError("graphlib did not report a circle")


def _reaches(name: str) -> set[str]:
    """Every regflow module `name` imports when it runs, directly or through others."""
    seen: set[str] = set()
    frontier = [name]
    while frontier:
        for imported in _runtime_imports(MODULES[frontier.pop()]) - seen:
            seen.add(imported)
            frontier.append(imported)
    return seen


def _layer(prefix: str) -> list[str]:
    return [name for name in MODULES if name == prefix or name.startswith(prefix + ".")]


FLOWS = ("regflow.machine", "regflow.flows", "regflow._shipped")


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_the_engine_the_declaration_language_and_the_kits_import_no_flow_adapter_or_tool() -> None:
    for name in [*_layer("regflow.engine"), *_layer("regflow.declare"), *_layer("regflow.kits")]:
        reached = _reaches(name)
        assert not {m for m in reached if _in(m, (*FLOWS, "regflow.adapters", "regflow.tools"))}, (
            name
        )


def test_the_adapters_know_no_flow_and_no_kit() -> None:
    for name in _layer("regflow.adapters"):
        reached = _reaches(name)
        assert not {m for m in reached if _in(m, (*FLOWS, "regflow.kits"))}, name
