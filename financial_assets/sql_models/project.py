"""Loading the dbt-like SQL project: models, their dependencies (from ref/source calls) and YAML tests.

A model is ``<models_dir>/<name>.sql`` (a Jinja-templated DuckDB SELECT) plus an optional
``<name>.yml`` next to it::

    description: ...
    lookback_bars: 60          # bars of history before the run's start the query needs
    tests:
      - unique: [ticker, date]
      - not_null: [ticker, date]
      - accepted_range: {column: corr_bench_60, min: -1.0, max: 1.0}
      - not_all_null: {columns: [corr_bench_60], min_rows: 120}   # per ticker with >= 120 rows

Dependencies come only from ``{{ ref('model') }}`` and ``{{ source('lake', 'asset') }}``: the
template is rendered once with functions that record their arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql" / "models"
SOURCE_GROUP = "lake"
TEST_KINDS = ("unique", "not_null", "accepted_range", "not_all_null")
YAML_KEYS = ("description", "lookback_bars", "tests")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ColumnTest:
    """A declared test: ``unique`` / ``not_null`` over columns, or ``accepted_range`` of one column."""

    kind: str
    columns: tuple[str, ...]
    min: float | None = None
    max: float | None = None
    min_rows: int = 0  # not_all_null: tickers with fewer rows are not judged

    @property
    def name(self) -> str:
        """The test's name, e.g. ``unique_ticker_date`` or ``accepted_range_corr_bench_60``."""
        return f"{self.kind}_{'_'.join(self.columns)}"


@dataclass(frozen=True)
class SqlModel:
    """One model of the project; `refs` and `sources` are the relations its template reads."""

    name: str
    path: Path
    template: str
    description: str
    lookback_bars: int
    refs: tuple[str, ...]
    sources: tuple[str, ...]
    tests: tuple[ColumnTest, ...]


def safe_identifier(name: object, what: str) -> str:
    """`name` if it is a lower-case SQL identifier (it becomes a view name), else ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"{what} {name!r} is not a safe identifier (lower case letters, digits and _, "
                         "not starting with a digit, at most 63 characters)")
    return name


def render(template: str, ref: Callable[[str], str], source: Callable[[str, str], str]) -> str:
    """Render a model template with the given ``ref(name)`` and ``source(group, name)`` functions."""
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(template).render(ref=ref, source=source)


def _dependencies(template: str, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    refs: list[str] = []
    sources: list[str] = []

    def ref(model: str) -> str:
        refs.append(safe_identifier(model, f"{name}: ref"))
        return model

    def source(group: str, asset: str) -> str:
        if group != SOURCE_GROUP:
            raise ValueError(f"{name}: unknown source group {group!r} (only {SOURCE_GROUP!r})")
        sources.append(safe_identifier(asset, f"{name}: source"))
        return asset

    try:
        render(template, ref, source)
    except jinja2.TemplateError as err:
        raise ValueError(f"{name}.sql: template error: {err}") from err
    return tuple(dict.fromkeys(refs)), tuple(dict.fromkeys(sources))


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _columns(arg: Any, what: str) -> tuple[str, ...]:
    columns = [arg] if isinstance(arg, str) else arg
    valid = isinstance(columns, list) and all(isinstance(c, str) and _COLUMN.match(c) for c in columns)
    if not valid or not columns:
        raise ValueError(f"{what} needs a column name or a non-empty list of column names, got {arg!r}")
    return tuple(columns)


def _test(entry: Any, name: str) -> ColumnTest:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(f"{name}.yml: each test is a mapping with one key ({', '.join(TEST_KINDS)}), got {entry!r}")
    (kind, arg), = entry.items()
    what = f"{name}.yml: {kind}"
    if kind not in TEST_KINDS:
        raise ValueError(f"{name}.yml: unknown test {kind!r}; use {', '.join(TEST_KINDS)}")
    if kind == "not_all_null":
        if not isinstance(arg, dict) or set(arg) - {"columns", "min_rows"} or not isinstance(arg.get("min_rows"), int):
            raise ValueError(f"{what} takes {{columns, min_rows}} (min_rows an integer), got {arg!r}")
        return ColumnTest(kind, _columns(arg.get("columns"), what), min_rows=arg["min_rows"])
    if kind != "accepted_range":
        return ColumnTest(kind, _columns(arg, what))
    if not isinstance(arg, dict) or set(arg) - {"column", "min", "max"}:
        raise ValueError(f"{what} takes {{column, min, max}}, got {arg!r}")
    low, high = _number(arg.get("min"), f"{what} min"), _number(arg.get("max"), f"{what} max")
    if low is None and high is None:
        raise ValueError(f"{what} needs min, max or both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"{what}: min {low} is above max {high}")
    column = arg.get("column")
    if not isinstance(column, str):
        raise ValueError(f"{what} needs one column name, got {column!r}")
    return ColumnTest(kind, _columns(column, what), low, high)


def _tests(spec: Any, name: str) -> tuple[ColumnTest, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise ValueError(f"{name}.yml: tests must be a list, got {spec!r}")
    tests = tuple(_test(entry, name) for entry in spec)
    names = [t.name for t in tests]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{name}.yml: tests declared twice: {duplicates}")
    return tests


def _spec(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path.name}: invalid YAML: {err}") from err
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ValueError(f"{path.name}: expected a mapping with keys {', '.join(YAML_KEYS)}")
    unknown = sorted(set(spec) - set(YAML_KEYS))
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {unknown}; use {', '.join(YAML_KEYS)}")
    return spec


def _load_model(path: Path) -> SqlModel:
    name = safe_identifier(path.stem, "model name")
    template = path.read_text()
    spec = _spec(path.with_suffix(".yml"))
    lookback = spec.get("lookback_bars", 0)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 0:
        raise ValueError(f"{name}.yml: lookback_bars must be an integer >= 0, got {lookback!r}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"{name}.yml: description must be text, got {description!r}")
    refs, sources = _dependencies(template, name)
    return SqlModel(name=name, path=path, template=template, description=description.strip(),
                    lookback_bars=lookback, refs=refs, sources=sources, tests=_tests(spec.get("tests"), name))


def _check_names(models: dict[str, SqlModel], models_dir: Path) -> None:
    orphans = sorted(p.name for p in models_dir.glob("*.y*ml") if p.stem not in models or p.suffix != ".yml")
    if orphans:
        raise ValueError(f"{models_dir}: YAML files without a model (<name>.yml next to <name>.sql): {orphans}")
    for model in models.values():
        unknown = [r for r in model.refs if r not in models]
        if unknown:
            raise ValueError(f"{model.name}: ref to unknown model(s) {unknown}")
        clash = [s for s in model.sources if s in models]
        if clash:
            raise ValueError(f"{model.name}: source(s) {clash} have the name of a SQL model; rename the model")


def _topological(models: dict[str, SqlModel]) -> dict[str, SqlModel]:
    ordered: dict[str, SqlModel] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            cycle = [*visiting[visiting.index(name):], name]
            raise ValueError(f"dependency cycle between models: {' -> '.join(cycle)}")
        visiting.append(name)
        for dep in models[name].refs:
            visit(dep)
        visiting.pop()
        ordered[name] = models[name]

    for name in sorted(models):
        visit(name)
    return ordered


def load_project(models_dir: Path = DEFAULT_MODELS_DIR) -> dict[str, SqlModel]:
    """Every model of `models_dir`, in dependency order (a model after the models it refs).

    Raises ValueError for a missing folder, an unsafe model name, bad YAML or template, a ref to an
    unknown model, or a dependency cycle.
    """
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise ValueError(f"models folder {models_dir} does not exist")
    models = {m.name: m for m in (_load_model(p) for p in sorted(models_dir.glob("*.sql")))}
    _check_names(models, models_dir)
    return _topological(models)
