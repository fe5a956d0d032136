"""The package's Dagster private API stays in the internals modules, and what they use is listed here.

Private API, found in each module's syntax tree (so an alias, a split line or a `getattr` is found too):
- an import from a `dagster` or `dagster_*` module path with a part starting with `_`, or of a `_name`;
- a read or write of an attribute `_name` that the package defines nowhere, on anything but `self` or `cls`
  (`getattr`, `setattr` and `hasattr` with a literal name count; a namedtuple's `_replace`, `_asdict`,
  `_fields` are its public API);
- in a class with a Dagster base, an override of a base's `_method`, or a `self._name`, `cls._name` or
  `super()._name` that the base defines or the class itself does not.
A pin bump reviews `INTERNALS`: each internals module's private names, checked by their canaries
(test_runs_internals.py, test_operations_status_cache.py, test_deploy_postgres_failed_range.py).
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from typing import NamedTuple

from financial_assets_tests.paths import ROOT

PACKAGE = ROOT / "financial_assets"
#: a namedtuple's methods and fields: public API despite the underscore
NAMEDTUPLE_API = frozenset({"_replace", "_asdict", "_fields", "_make", "_field_defaults"})
ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "hasattr", "delattr"})

#: every Dagster private name the package uses, by module (financial_assets/runs/internals.py says why)
INTERNALS = {
    "financial_assets/runs/internals.py": {
        "from dagster._core.definitions.partitions.utils.multi import get_tags_from_multi_partition_key",
        "from dagster._core.definitions.selector import JobSubsetSelector",
        "from dagster._core.events import AssetMaterializationPlannedData",
        "from dagster._core.events import DagsterEvent",
        "from dagster._core.events import DagsterEventBatchMetadata",
        "from dagster._core.events import generate_event_batch_id",
        "from dagster._core.execution.api import execute_run",
        "from dagster._core.remote_origin import InProcessCodeLocationOrigin",
        "from dagster._core.remote_representation.code_location import InProcessCodeLocation",
        "from dagster._core.storage.tags import EXTERNALLY_MANAGED_ASSETS_TAG",
        "from dagster._core.types.loadable_target_origin import LoadableTargetOrigin",
        "from dagster._utils.hosted_user_process import recon_job_from_origin",
        "attribute _step_execution_context",
    },
    "financial_assets/runs/event_log_storage.py": {
        "from dagster._core.events import ASSET_EVENTS",
        "from dagster._core.events import DagsterEventType",
        "from dagster._core.events.log import EventLogEntry",
        "from dagster._core.storage.event_log import SqliteEventLogStorage",
        "from dagster._core.storage.event_log.schema import SqlEventLogStorageTable",
        "from dagster._serdes import ConfigurableClassData",
        "from dagster._serdes import deserialize_value",
        "BatchedSqliteEventLogStorage uses SqlEventLogStorage._event_to_row",
        "BatchedSqliteEventLogStorage uses SqlEventLogStorage._store_asset_event",
        "BatchedSqliteEventLogStorage uses SqlEventLogStorage._store_asset_event_tags",
    },
    "financial_assets/runs/postgres_event_log_storage.py": {
        "from dagster._serdes import ConfigurableClassData",
    },
    "financial_assets/runs/status_cache.py": {
        "from dagster._core.definitions.partitions.context import partition_loading_context",
        "from dagster._core.storage.partition_status_cache import AssetStatusCacheValue",
        "from dagster._core.storage.partition_status_cache import build_failed_and_in_progress_partition_subset",
        "from dagster._core.storage.partition_status_cache import get_last_planned_storage_id",
        "from dagster._core.storage.partition_status_cache import is_cacheable_partition_type",
    },
}


class Use(NamedTuple):
    """One use of private API: where, and what (the form INTERNALS lists)."""

    path: str
    line: int
    what: str


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dagster(module: str) -> bool:
    top = module.split(".")[0]
    return top == "dagster" or top.startswith("dagster_")


def _imports(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, attribute) it was imported as (attribute None for `import module`)."""
    names: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (alias.name if alias.asname else
                                                                   alias.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def _attribute_uses(node: ast.AST) -> list[tuple[ast.AST, str, int]]:
    """(receiver, attribute, line) of every attribute use under `node`, `getattr(obj, "_x")` included."""
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            found.append((child.value, child.attr, child.lineno))
        elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id in ATTRIBUTE_FUNCTIONS
              and len(child.args) >= 2 and isinstance(child.args[1], ast.Constant)
              and isinstance(child.args[1].value, str)):
            found.append((child.args[0], child.args[1].value, child.lineno))
    return found


def _on_self(receiver: ast.AST) -> bool:
    return ((isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"))
            or (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == "super"))


def _defined_names(node: ast.AST) -> set[str]:
    """Names `node` defines: functions, classes, assigned names and attributes, parameters."""
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
            names.add(child.attr)
        elif isinstance(child, ast.arg):
            names.add(child.arg)
    return names


def _resolve(expr: ast.AST, imports: dict[str, tuple[str, str | None]]) -> object | None:
    """The object an imported name or dotted name stands for (None when it is not imported)."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.insert(0, expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id not in imports:
        return None
    module, attribute = imports[expr.id]
    found = importlib.import_module(module)
    for part in ([attribute] if attribute else []) + parts:
        found = getattr(found, part)
    return found


class _Bases(NamedTuple):
    dagster: list[type]  # the Dagster classes a class inherits from, nearest first
    own: set[str]  # names the class and its project bases define


def _bases(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], imports: dict[str, tuple[str, str | None]]) -> _Bases:
    dagster: list[type] = []
    own = _defined_names(cls)
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in classes:  # a class of the same module
            inherited = _bases(classes[base.id], classes, imports)
            dagster += inherited.dagster
            own |= inherited.own
            continue
        root = base
        while isinstance(root, ast.Attribute):
            root = root.value
        source = imports.get(root.id, ("", None))[0] if isinstance(root, ast.Name) else ""
        if not (_dagster(source) or source.split(".")[0] == PACKAGE.name):
            continue  # another library's class
        for klass in _resolve(base, imports).__mro__:
            if _dagster(klass.__module__):
                dagster.append(klass)
            elif klass is not object:
                own |= set(vars(klass))
    return _Bases(dagster, own)


def private_uses(source: str, path: str, package_names: set[str]) -> list[Use]:
    """Every use of Dagster private API in one module's `source`; `package_names`: the names the package defines."""
    tree = ast.parse(source)
    imports = _imports(tree)
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            uses += [Use(path, node.lineno, f"import {a.name}") for a in node.names
                     if _dagster(a.name) and any(_private(p) for p in a.name.split("."))]
        elif isinstance(node, ast.ImportFrom) and node.module and _dagster(node.module):
            module_private = any(_private(p) for p in node.module.split("."))
            uses += [Use(path, node.lineno, f"from {node.module} import {a.name}") for a in node.names
                     if module_private or _private(a.name)]
    for receiver, name, line in _attribute_uses(tree):
        if _private(name) and not _on_self(receiver) and name not in NAMEDTUPLE_API | package_names:
            uses.append(Use(path, line, f"attribute {name}"))
    classes = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for cls in classes.values():
        bases = _bases(cls, classes, imports)
        if not bases.dagster:
            continue
        owners = {}
        for klass in reversed(bases.dagster):
            owners.update({name: klass.__name__ for name in vars(klass) if _private(name)})
        body_defs = {n.name: n.lineno for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        uses += [Use(path, line, f"{cls.name} overrides {owners[name]}.{name}") for name, line in body_defs.items()
                 if name in owners]
        for receiver, name, line in _attribute_uses(cls):
            if _private(name) and _on_self(receiver) and (name in owners or name not in bases.own):
                owner = owners.get(name, bases.dagster[0].__name__)
                uses.append(Use(path, line, f"{cls.name} uses {owner}.{name}"))
    return sorted(set(uses))


def package_uses(sources: dict[str, str] | None = None) -> list[Use]:
    """Every use of Dagster private API in the package (or in `sources`, path -> text, read beside it)."""
    texts = {p.relative_to(ROOT).as_posix(): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}
    texts.update(sources or {})
    names = set().union(*(_defined_names(ast.parse(text)) for text in texts.values()))
    return [use for path, text in texts.items() for use in private_uses(text, path, names)]


def _outside(uses: list[Use]) -> list[str]:
    return [f"{u.path}:{u.line}: {u.what}" for u in uses if u.path not in INTERNALS]


def test_dagster_private_api_is_used_only_in_the_internals_modules():
    assert _outside(package_uses()) == []


def test_the_internals_modules_use_exactly_the_listed_private_names():
    found: dict[str, set[str]] = defaultdict(set)
    for use in package_uses():
        found[use.path].add(use.what)
    assert {path: found[path] for path in INTERNALS} == INTERNALS


SCRATCH = "financial_assets/defs/scratch.py"


def _scratch(source: str) -> list[str]:
    """What the guard reports in a module added to the package with `source`."""
    return [line for line in _outside(package_uses({SCRATCH: source})) if line.startswith(SCRATCH)]


def test_the_guard_finds_a_private_attribute_read_however_it_is_spelled():
    read = "def f(context):\n    return context.op_execution_context._step_execution_context\n"
    assert _scratch(read) == [f"{SCRATCH}:2: attribute _step_execution_context"]
    split = "def f(context):\n    x = context.op_execution_context\n    return getattr(x, '_step_execution_context')\n"
    assert _scratch(split) == [f"{SCRATCH}:3: attribute _step_execution_context"]
    assert _scratch("import dagster as dg\nTAG = dg._core.storage.tags.EXTERNALLY_MANAGED_ASSETS_TAG\n") == [
        f"{SCRATCH}:2: attribute _core"]


def test_the_guard_finds_private_imports_and_base_class_privates():
    assert _scratch("import dagster._check as check\nfrom dagster import _seven\n") == [
        f"{SCRATCH}:1: import dagster._check", f"{SCRATCH}:2: from dagster import _seven"]
    subclass = ("import dagster_postgres\n\n"
                "class Log(dagster_postgres.PostgresEventLogStorage):\n"
                "    def _init_db(self):\n"
                "        self._secondary_index_cache.clear()\n")
    assert _scratch(subclass) == [f"{SCRATCH}:4: Log overrides PostgresEventLogStorage._init_db",
                                  f"{SCRATCH}:5: Log uses PostgresEventLogStorage._secondary_index_cache"]


def test_the_guard_lets_the_package_use_its_own_private_names():
    own = ("import dagster as dg\n\n"
           "class Store(dg.ConfigurableResource):\n"
           "    def _path(self):\n        return 'x'\n"
           "    def read(self, row):\n        return self._path(), row._asdict()\n\n"
           "def _helper(store):\n    return store._path()\n")
    assert _scratch(own) == []
