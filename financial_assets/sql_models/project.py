"""Loading the dbt-like SQL project: models, their dependencies (from ref/source calls) and YAML tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql" / "models"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TEST_KINDS = ("unique", "not_null", "accepted_range")


@dataclass(frozen=True)
class ColumnTest:
    """A declared test: unique / not_null over columns, or accepted_range of one column."""

    kind: str
    columns: tuple[str, ...]
    min: float | None = None
    max: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}_{'_'.join(self.columns)}"


@dataclass(frozen=True)
class SqlModel:
    name: str
    path: Path
    template: str
    description: str
    lookback_bars: int
    refs: tuple[str, ...]
    sources: tuple[str, ...]
    tests: tuple[ColumnTest, ...]


def safe_identifier(name: str, what: str) -> str:
    """`name` if it is a lower-case SQL identifier, else ValueError (names become view names)."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{what} {name!r} is not a safe identifier (lower case letters, digits, _)")
    return name


def render(template: str, ref, source) -> str:
    """Render a model template with the given `ref(name)` and `source(group, name)` functions."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(template).render(ref=ref, source=source)


def _dependencies(template: str, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    refs: list[str] = []
    sources: list[str] = []

    def ref(model: str) -> str:
        refs.append(safe_identifier(model, f"ref in {name}"))
        return model

    def source(group: str, asset: str) -> str:
        if group != "lake":
            raise ValueError(f"{name}: unknown source group {group!r} (only 'lake')")
        sources.append(safe_identifier(asset, f"source in {name}"))
        return asset

    render(template, ref, source)
    return tuple(dict.fromkeys(refs)), tuple(dict.fromkeys(sources))


def _tests(spec: list, name: str) -> tuple[ColumnTest, ...]:
    tests = []
    for entry in spec or []:
        (kind, arg), = entry.items()
        if kind not in TEST_KINDS:
            raise ValueError(f"{name}: unknown test {kind!r}; use {', '.join(TEST_KINDS)}")
        if kind == "accepted_range":
            tests.append(ColumnTest(kind, (arg["column"],), arg.get("min"), arg.get("max")))
        else:
            tests.append(ColumnTest(kind, tuple([arg] if isinstance(arg, str) else arg)))
    return tuple(tests)


def _load_model(path: Path) -> SqlModel:
    name = safe_identifier(path.stem, "model name")
    template = path.read_text()
    spec_path = path.with_suffix(".yml")
    try:
        spec = yaml.safe_load(spec_path.read_text()) or {} if spec_path.exists() else {}
    except yaml.YAMLError as err:
        raise ValueError(f"{spec_path.name}: invalid YAML: {err}") from err
    refs, sources = _dependencies(template, name)
    return SqlModel(name=name, path=path, template=template, description=str(spec.get("description", "")).strip(),
                    lookback_bars=int(spec.get("lookback_bars", 0)), refs=refs, sources=sources,
                    tests=_tests(spec.get("tests"), name))


def load_project(models_dir: Path = DEFAULT_MODELS_DIR) -> dict[str, SqlModel]:
    """Every model of `models_dir`, in dependency order (a model after the models it refs)."""
    models = {m.name: m for m in (_load_model(p) for p in sorted(Path(models_dir).glob("*.sql")))}
    for model in models.values():
        unknown = [r for r in model.refs if r not in models]
        if unknown:
            raise ValueError(f"{model.name}: ref to unknown model(s) {unknown}")
    ordered: dict[str, SqlModel] = {}
    visiting: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, name))}")
        visiting.add(name)
        for dep in models[name].refs:
            visit(dep, (*path, name))
        visiting.discard(name)
        ordered[name] = models[name]

    for name in models:
        visit(name, ())
    return ordered
