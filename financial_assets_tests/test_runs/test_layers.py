"""The package's floors, read from every module's syntax tree (imports inside functions count too).

From the bottom: the financial core (every subpackage but `runs`, `defs` and `app`; it knows no Dagster wiring),
`runs/` (Dagster plumbing the families use), `defs/` (the asset graph), `definitions.py` (the code location), and
`app/` (the command line, the range runner, the DVC metrics). A module imports only its own floor and the ones
below it, and no two subpackages import each other, directly or through others.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

from financial_assets_tests.paths import ROOT

PACKAGE = ROOT / "financial_assets"
#: floors from the bottom; a unit not named here is the financial core (floor 0)
FLOORS = {"runs": 1, "defs": 2, "definitions": 3, "app": 4}
CORE = 0


def _unit(module: str) -> str:
    """The part of the package a module belongs to: `defs.<family>` inside defs/, else its top-level name."""
    parts = module.split(".")[1:] or ["__init__"]
    if parts[0] == "defs" and len(parts) > 2:
        return f"defs.{parts[1]}"
    return parts[0]


def _floor(unit: str) -> int:
    return FLOORS.get(unit.split(".")[0], CORE)


def imports(package: Path = PACKAGE) -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, where) for every import of the package by the package, across units."""
    found = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            # `from financial_assets.app import cli` imports app.cli; `from financial_assets import cli` the same
            target = next((t for t in reversed(targets) if (package.parent / t.replace(".", "/")).with_suffix(".py")
                           .exists() or (package.parent / t.replace(".", "/")).is_dir()), targets[0])
            if target.split(".")[0] != package.name or target == package.name:
                continue
            if _unit(module) != _unit(target):
                found.append((_unit(module), _unit(target), f"{path.relative_to(package.parent)}:{node.lineno}"))
    return found


def arrows_up(found: list[tuple[str, str, str]]) -> list[str]:
    """Every import of a higher floor by a lower one."""
    return [f"{where}: {source} imports {target}" for source, target, where in found if _floor(target) > _floor(source)]


def cycle(found: list[tuple[str, str, str]]) -> list[str]:
    """One circle of units importing each other, with the import that closes each step; empty when there is none."""
    graph: dict[str, set[str]] = {}
    for source, target, _ in found:
        graph.setdefault(source, set()).add(target)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        units = error.args[1]
        return [next(w for s, t, w in found if (s, t) == (units[i + 1], units[i])) + f": {units[i + 1]} -> {units[i]}"
                for i in range(len(units) - 1)]
    return []


def test_no_floor_imports_a_floor_above_it():
    assert arrows_up(imports()) == []


def test_no_two_parts_of_the_package_import_each_other():
    assert cycle(imports()) == []


def test_the_scan_sees_imports_inside_functions_and_finds_an_arrow_up_and_a_circle(tmp_path):
    package = tmp_path / "financial_assets"
    for folder in ("core", "defs/bars", "app"):
        (package / folder).mkdir(parents=True)
    (package / "core" / "calendar.py").write_text("def f():\n    from financial_assets.defs.bars import assets\n")
    (package / "defs" / "bars" / "assets.py").write_text("import financial_assets.app.cli\n")
    (package / "app" / "cli.py").write_text("from financial_assets.core import calendar\n")
    found = imports(package)
    assert arrows_up(found) == ["financial_assets/core/calendar.py:2: core imports defs.bars",
                                "financial_assets/defs/bars/assets.py:1: defs.bars imports app"]
    assert sorted(step.split(": ")[1] for step in cycle(found)) == ["app -> core", "core -> defs.bars",
                                                                     "defs.bars -> app"]


@pytest.mark.parametrize("module, unit", [("financial_assets.defs.partitions", "defs"),
                                          ("financial_assets.defs.models.assets", "defs.models"),
                                          ("financial_assets.app.cli", "app"), ("financial_assets.core", "core")])
def test_units_are_top_level_parts_and_the_families_of_defs(module, unit):
    assert _unit(module) == unit
