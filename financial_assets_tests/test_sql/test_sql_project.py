"""Loading the dbt-like project: dependency order, declared metadata and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from financial_assets.sql_models import DEFAULT_MODELS_DIR, ColumnTest, load_project
from financial_assets_tests.paths import ROOT


def write_models(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_default_models_dir_is_the_repository_folder():
    assert DEFAULT_MODELS_DIR == ROOT / "dbt_like_sql" / "models"
    assert (DEFAULT_MODELS_DIR / "training_table.sql").exists()


def test_shipped_models_are_ordered_by_their_refs_and_declare_their_metadata():
    models = load_project()
    names = list(models)
    assert set(names) == {"universe_daily", "cross_asset_features", "training_table"}
    assert names.index("cross_asset_features") < names.index("training_table")
    assert models["training_table"].refs == ("cross_asset_features",)
    assert set(models["training_table"].sources) == {"features", "labels"}
    assert models["cross_asset_features"].sources == ("validated_bars",)
    assert models["cross_asset_features"].lookback_bars == 60
    assert models["universe_daily"].lookback_bars == 1
    tests = {t.name: t for t in models["cross_asset_features"].tests}
    assert tests["accepted_range_corr_bench_60"] == ColumnTest("accepted_range", ("corr_bench_60",), -1.0, 1.0)
    assert "unique_ticker_date" in tests and "not_null_ticker_date" in tests
    assert {"unique_date", "accepted_range_breadth"} <= {t.name for t in models["universe_daily"].tests}
    assert all(m.description for m in models.values())


def test_order_follows_a_chain_of_refs_whatever_the_file_names(tmp_path):
    folder = write_models(tmp_path, {
        "a_last.sql": "select * from {{ ref('m_middle') }}",
        "m_middle.sql": "select * from {{ ref('z_first') }} join {{ ref('z_first') }} using (date)",
        "z_first.sql": "select * from {{ source('lake', 'validated_bars') }}",
    })
    models = load_project(folder)
    assert list(models) == ["z_first", "m_middle", "a_last"]
    assert models["m_middle"].refs == ("z_first",)  # deduplicated
    assert models["z_first"].sources == ("validated_bars",) and models["z_first"].lookback_bars == 0


@pytest.mark.parametrize("files, message", [
    ({"a.sql": "select * from {{ ref('nope') }}"}, r"a: ref to unknown model\(s\) \['nope'\]"),
    ({"a.sql": "select * from {{ ref('b') }}", "b.sql": "select * from {{ ref('a') }}"},
     "dependency cycle between models: a -> b -> a"),
    ({"a.sql": "select * from {{ ref('a') }}"}, "dependency cycle between models: a -> a"),
    ({"Bad-Name.sql": "select 1"}, "model name 'Bad-Name' is not a safe identifier"),
    ({"x;drop.sql": "select 1"}, "is not a safe identifier"),
    ({"a.sql": "select * from {{ ref('b\"; drop table x; --') }}"}, "ref .* is not a safe identifier"),
    ({"a.sql": "select * from {{ source('web', 'bars') }}"}, "unknown source group 'web'"),
    ({"a.sql": "select * from {{ source('lake', 'a') }}"}, "have the name of a SQL model"),
    ({"a.sql": "select {{ oops }}"}, "a.sql: template error"),
    ({"a.sql": "select {% if %}"}, "a.sql: template error"),
    ({"a.sql": "select 1", "a.yml": "tests: [unique: [x]\n  bad"}, "a.yml: invalid YAML"),
    ({"a.sql": "select 1", "a.yml": "- just a list"}, "a.yml: expected a mapping"),
    ({"a.sql": "select 1", "a.yml": "lookback_bar: 3"}, r"unknown keys \['lookback_bar'\]"),
    ({"a.sql": "select 1", "a.yml": "lookback_bars: -1"}, "lookback_bars must be an integer >= 0"),
    ({"a.sql": "select 1", "a.yml": "lookback_bars: '5'"}, "lookback_bars must be an integer >= 0"),
    ({"a.sql": "select 1", "a.yml": "tests: [{fancy: [x]}]"}, "unknown test 'fancy'"),
    ({"a.sql": "select 1", "a.yml": "tests: [{unique: []}]"}, "non-empty list of column names"),
    ({"a.sql": "select 1", "a.yml": "tests: [{not_null: [x], unique: [x]}]"}, "mapping with one key"),
    ({"a.sql": "select 1", "a.yml": "tests: [{accepted_range: {column: x}}]"}, "needs min, max or both"),
    ({"a.sql": "select 1", "a.yml": "tests: [{accepted_range: {column: x, min: 2, max: 1}}]"}, "min 2.0 is above max"),
    ({"a.sql": "select 1", "a.yml": "tests: [{accepted_range: {column: x, min: low}}]"}, "min must be a number"),
    ({"a.sql": "select 1", "a.yml": "tests: [{unique: [x]}, {unique: x}]"}, r"tests declared twice: \['unique_x'\]"),
    ({"a.sql": "select 1", "b.yml": "description: orphan"}, "YAML files without a model"),
    ({"a.sql": "select 1", "a.yaml": "description: wrong suffix"}, "YAML files without a model"),
])
def test_project_errors_are_clear(tmp_path, files, message):
    write_models(tmp_path, files)
    with pytest.raises(ValueError, match=message):
        load_project(tmp_path)


def test_a_missing_models_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_project(tmp_path / "nowhere")


def test_yaml_shapes_are_parsed(tmp_path):
    write_models(tmp_path, {"m.sql": "select 1", "m.yml": (
        "description: |\n  Two\n  lines\nlookback_bars: 7\ntests:\n"
        "  - unique: [ticker, date]\n  - not_null: date\n  - accepted_range: {column: x, max: 3}\n")})
    model = load_project(tmp_path)["m"]
    assert model.description == "Two\nlines" and model.lookback_bars == 7
    assert model.tests == (ColumnTest("unique", ("ticker", "date")), ColumnTest("not_null", ("date",)),
                           ColumnTest("accepted_range", ("x",), None, 3.0))
    assert [t.name for t in model.tests] == ["unique_ticker_date", "not_null_date", "accepted_range_x"]
