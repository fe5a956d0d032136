"""Running the shipped SQL models: values against pandas, parameter binding, idempotency, batching."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import financial_assets.sql_models.engine as engine_module
from financial_assets.sql_models import load_project, lookback_start, run_model, run_model_tests
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.test_sql.test_sql_support import (
    MODELS,
    TICKERS,
    assert_same_values,
    day,
    lake_with,
    reference_cross_asset,
    reference_universe,
    run,
    sessions,
    validated_frame,
)

CROSS = ["corr_bench_60", "beta_bench_60", "rel_strength_20"]
UNIVERSE = ["n_tickers", "median_ret_1", "breadth", "mean_ret_1"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return validated_frame(170, seed=1)


@pytest.fixture(scope="module")
def lake(frame, tmp_path_factory) -> ParquetLake:
    return lake_with(tmp_path_factory.mktemp("lake"), frame)


def test_lookback_start_covers_the_bars_it_promises():
    start = pd.Timestamp("2024-01-02").date()
    assert lookback_start(start, 0) == start - pd.Timedelta(days=15)
    assert lookback_start(start, 60) == start - pd.Timedelta(days=84 + 15)
    assert lookback_start(start, 1) == start - pd.Timedelta(days=2 + 15)
    # 60 NYSE sessions before 2024-01-02 (holidays included) start well after the lookback start
    nyse_60_back = pd.bdate_range(end="2023-12-29", periods=64)[0].date()
    assert lookback_start(start, 60) < nyse_60_back


def test_universe_daily_matches_pandas(lake, frame):
    days = sessions(frame)
    start, end = days.iloc[40], days.iloc[150]
    out = run(lake, "universe_daily", start, end)
    expected = reference_universe(frame).query("@start <= date <= @end")
    assert list(out.columns) == ["date", *UNIVERSE]
    assert out["n_tickers"].between(2, len(TICKERS)).all() and (out["n_tickers"] < len(TICKERS)).any()
    assert_same_values(out, expected, ["date"], UNIVERSE)


def test_cross_asset_features_match_pandas(lake, frame):
    days = sessions(frame)
    start, end = days.iloc[55], days.iloc[169]
    for benchmark in ("AAA", "CCC"):
        out = run(lake, "cross_asset_features", start, end, benchmark=benchmark)
        expected = reference_cross_asset(frame, benchmark).query("@start <= date <= @end")
        assert list(out.columns) == ["ticker", "date", *CROSS]
        assert_same_values(out, expected, ["ticker", "date"], CROSS)
        # the benchmark AAA trades every session; CCC misses some, and a window needs all 60 pairs
        assert out["corr_bench_60"].notna().sum() > (300 if benchmark == "AAA" else 20)
        own = out.loc[(out["ticker"] == benchmark) & out["corr_bench_60"].notna()]
        np.testing.assert_allclose(own[["corr_bench_60", "beta_bench_60"]], 1.0, atol=1e-12)
        assert out["corr_bench_60"].dropna().between(-1, 1).all()


def test_no_partial_windows(lake, frame):
    out = run(lake, "cross_asset_features", sessions(frame).iloc[0], sessions(frame).iloc[-1])
    for ticker, g in out.groupby("ticker"):
        bars = frame.loc[frame["ticker"] == ticker].sort_values("date")
        # the first return is at the second bar: 60 returns exist from the 61st bar on
        assert g["corr_bench_60"].iloc[:60].isna().all() and g["beta_bench_60"].iloc[:60].isna().all()
        assert g["rel_strength_20"].iloc[:20].isna().all() and g["rel_strength_20"].iloc[20:].notna().all()
        assert len(g) == len(bars)


def test_a_ticker_back_from_a_long_halt_gets_no_stale_window(tmp_path):
    frame = validated_frame(200, seed=5, missing=0.0)
    days = sessions(frame)
    halted = (frame["ticker"] == "BBB") & frame["date"].between(days.iloc[80], days.iloc[125])
    frame = frame.loc[~halted].reset_index(drop=True)
    lake = lake_with(tmp_path, frame)
    out = run(lake, "cross_asset_features", days.iloc[0], days.iloc[-1]).query("ticker == 'BBB'").set_index("date")
    universe = run(lake, "universe_daily", days.iloc[0], days.iloc[-1]).set_index("date")
    back = days.iloc[126]
    # BBB's last 60 bars span the halt, more than the 99-day horizon: no window; no 1-bar return either
    assert out.loc[back:, "corr_bench_60"].iloc[:60].isna().all() and out["corr_bench_60"].notna().sum() > 30
    assert universe.loc[back, "n_tickers"] == len(TICKERS) - 1 + 1  # BBB trades again, without a return
    assert_same_values(out.reset_index().assign(ticker="BBB"),
                       reference_cross_asset(frame, "AAA").query("ticker == 'BBB'"), ["ticker", "date"], CROSS)
    assert_same_values(universe.reset_index(), reference_universe(frame), ["date"], ["median_ret_1", "breadth"])


def test_a_date_alone_equals_the_same_date_inside_any_range_and_reruns_are_identical(tmp_path):
    frame = validated_frame(220, seed=3, missing=0.0)
    days = sessions(frame)
    # long halts: BBB (30 sessions, longer than universe_daily's horizon), the benchmark (5 sessions)
    gaps = ((frame["ticker"] == "BBB") & frame["date"].between(days.iloc[100], days.iloc[129])) | \
           ((frame["ticker"] == "AAA") & frame["date"].between(days.iloc[150], days.iloc[154]))
    lake = lake_with(tmp_path, frame.loc[~gaps])
    probes = [days.iloc[i] for i in (60, 61, 62, 130, 131, 145, 155, 156, 175, 190, 219)]
    for name in ("universe_daily", "cross_asset_features"):
        wide = run(lake, name, days.iloc[50], days.iloc[219])
        pd.testing.assert_frame_equal(wide, run(lake, name, days.iloc[50], days.iloc[219]))
        for probe in probes:
            alone = run(lake, name, probe, probe)
            assert len(alone) and (alone["date"] == probe).all()
            pd.testing.assert_frame_equal(wide.loc[wide["date"] == probe].reset_index(drop=True), alone)
        assert wide["date"].between(days.iloc[50], days.iloc[219]).all()


def test_rerunning_and_rewriting_the_lake_is_idempotent(lake, frame, tmp_path):
    out_lake = ParquetLake(tmp_path)
    days = sessions(frame)
    dates = list(days.iloc[70:110])
    stored = []
    for _ in range(2):
        result = run(lake, "cross_asset_features", dates[0], dates[-1])
        out_lake.write("cross_asset_features", result, {None: dates})
        stored.append(out_lake.read("cross_asset_features"))
    pd.testing.assert_frame_equal(stored[0], stored[1])
    pd.testing.assert_frame_equal(stored[0], result, check_dtype=False)


HOSTILE = ("O'Brien", "x'; DROP TABLE validated_bars; --", 'q"uote')


def test_values_with_quotes_and_sql_are_data(tmp_path):
    frame = validated_frame(90, seed=11, tickers=HOSTILE, missing=0.0)
    lake = lake_with(tmp_path / "it's a \"lake\"; --", frame)
    days = sessions(frame)
    for benchmark in HOSTILE:
        out = run(lake, "cross_asset_features", days.iloc[70], days.iloc[-1], benchmark=benchmark)
        assert set(out["ticker"]) == set(HOSTILE)
        own = out.loc[out["ticker"] == benchmark, "corr_bench_60"].dropna()
        others = out.loc[out["ticker"] != benchmark, "corr_bench_60"].dropna()
        assert len(own) > 10 and len(others) > 10
        np.testing.assert_allclose(own, 1.0, atol=1e-12)
        assert others.abs().lt(1).all()
    injected = run(lake, "cross_asset_features", days.iloc[70], days.iloc[-1], benchmark="x' OR '1'='1")
    assert injected["corr_bench_60"].isna().all() and injected["rel_strength_20"].notna().all()
    assert (run(lake, "universe_daily", days.iloc[15], days.iloc[-1])["n_tickers"] == 3).all()
    assert len(lake.read("validated_bars")) == len(frame)


def test_the_engine_never_formats_values_into_sql():
    """Only a name goes to execute(); f-strings live in error messages; no % or .format at all."""
    tree = ast.parse(Path(engine_module.__file__).read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr != "format", f"line {node.lineno}: .format()"
            if node.func.attr in ("execute", "sql", "query", "executemany"):
                assert isinstance(node.args[0], ast.Name) and node.args[0].id == "sql", f"line {node.lineno}"
                assert len(node.args) == 2, f"line {node.lineno}: values must be passed as parameters"
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)), f"line {node.lineno}: %"
        if isinstance(node, ast.JoinedStr):
            up = node
            while up in parents and not isinstance(up, ast.Raise):
                up = parents[up]
            assert isinstance(up, ast.Raise), f"line {node.lineno}: f-string outside an error message"
    assigned = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "sql" for t in n.targets)]
    assert len(assigned) == 1 and isinstance(assigned[0].value, ast.Call) and assigned[0].value.func.id == "render"


def model_dir(tmp_path: Path, sql: str) -> Path:
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    (folder / "m.sql").write_text(sql)
    return folder


@pytest.mark.parametrize("sql, message", [
    ("select ticker, date from {{ source('lake', 'validated_bars') }}", "outside"),
    ("select ticker from {{ source('lake', 'validated_bars') }} where date = $start_date", "no 'date' column"),
    ("select * from {{ source('lake', 'validated_bars') }} where date = $start_date; select 1 as date",
     "exactly one SELECT"),
    ("create table t as select 1 as date", "exactly one SELECT"),
    ("select * from {{ source('lake', 'validated_bars') }} where date = $start_date and ticker = $tick",
     r"unknown parameters \['tick'\]"),
    ("select * from {{ source('lake', 'labels') }}", "'labels' has no data in the lake"),
])
def test_the_engine_rejects_bad_models(lake, frame, tmp_path, sql, message):
    model = load_project(model_dir(tmp_path, sql))["m"]
    with pytest.raises(ValueError, match=message):
        run(lake, model, sessions(frame).iloc[10], sessions(frame).iloc[20])


def test_views_hold_only_the_lookback_to_end_window(lake, frame, tmp_path):
    """Inputs are cut to [lookback_start, end] even for a model that forgets its own filter."""
    folder = model_dir(tmp_path, "-- $unused_in_a_comment\nselect $end_date::date as date, min(date) as lo, "
                                 "max(date) as hi from {{ source('lake', 'validated_bars') }}")
    (folder / "m.yml").write_text("lookback_bars: 10")
    days = sessions(frame)
    out = run(lake, load_project(folder)["m"], days.iloc[50], days.iloc[60])
    assert out["hi"].iloc[0] == days.iloc[60]
    assert out["lo"].iloc[0] == days[days >= pd.Timestamp(lookback_start(day(days.iloc[50]), 10))].iloc[0]


def test_training_table_pairs_features_and_labels_of_the_same_ticker_and_date(lake, frame, tmp_path):
    lake = lake_with(tmp_path, frame)
    day_number = (frame["date"] - pd.Timestamp("2000-01-01")).dt.days.astype(float)
    ticker_code = frame["ticker"].map({t: i for i, t in enumerate(TICKERS)}).astype(float)
    scope = {t: list(g["date"]) for t, g in frame.groupby("ticker")}
    features = frame[["ticker", "date"]].assign(feat_day=day_number, feat_ticker=ticker_code,
                                                rsi_14=np.random.default_rng(0).uniform(0, 100, len(frame)))
    rng = np.random.default_rng(1)
    labels = frame[["ticker", "date"]].assign(
        lab_day=day_number, lab_ticker=ticker_code, fwd_ret_1=rng.normal(0, 0.01, len(frame)),
        dir_1=rng.integers(0, 2, len(frame)).astype(float), t1_1=frame["date"] + pd.Timedelta(days=1),
        dir_5=1.0, dir_20=0.0, tb_label=-1.0, tb_timeout=0.0, tb_ambiguous=1.0, t1=frame["date"] + pd.Timedelta(days=9))
    # labels shuffled, and the last 5 bars of every ticker have none yet: a join by position misaligns
    labels = labels.loc[labels.groupby("ticker").cumcount(ascending=False) >= 5].sample(frac=1, random_state=2)
    lake.write("features", features, scope)
    lake.write("labels", labels, scope)
    days = sessions(frame)
    dates = list(days)
    lake.write("cross_asset_features", run(lake, "cross_asset_features", dates[0], dates[-1]), {None: dates})
    start, end = days.iloc[20], days.iloc[-1]
    table = run(lake, "training_table", start, end)
    expected_rows = features.loc[features["date"].between(start, end)]
    assert len(table) == len(expected_rows)
    pd.testing.assert_frame_equal(table[["ticker", "date", "feat_day", "feat_ticker", "rsi_14"]],
                                  expected_rows.sort_values(["ticker", "date"], ignore_index=True))
    paired = table.dropna(subset=["lab_day"])
    assert len(paired) == len(labels.loc[labels["date"].between(start, end)])
    assert (paired["feat_day"] == paired["lab_day"]).all() and (paired["feat_ticker"] == paired["lab_ticker"]).all()
    assert (paired["t1_1"] == paired["date"] + pd.Timedelta(days=1)).all()
    assert table.groupby("ticker").tail(5)["lab_day"].isna().all()
    cross = run(lake, "cross_asset_features", start, end)
    pd.testing.assert_frame_equal(table[["ticker", "date", *CROSS]], cross)
    assert table["t1"].dtype == "datetime64[ns]" and table["date"].dtype == "datetime64[ns]"
    results = run_model_tests(MODELS["training_table"], table)
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]


def test_every_shipped_model_passes_its_own_tests(lake, frame):
    days = sessions(frame)
    for name in ("universe_daily", "cross_asset_features"):
        results = run_model_tests(MODELS[name], run(lake, name, days.iloc[0], days.iloc[-1]))
        assert len(results) == len(MODELS[name].tests) and all(r.passed for r in results)


def test_a_date_range_without_bars_gives_no_rows(lake):
    model = MODELS["universe_daily"]
    assert run_model(model, lake, day("1990-01-01"), day("1990-02-01"), benchmark_ticker="AAA").empty
    with pytest.raises(ValueError, match="after end"):
        run_model(model, lake, day("1990-02-01"), day("1990-01-01"), benchmark_ticker="AAA")


def test_a_frame_violating_the_yaml_tests_fails_them_with_counts_and_samples():
    frame = pd.DataFrame({"ticker": ["A", "A", "A", None],
                          "date": pd.to_datetime(["2024-01-02"] * 2 + ["2024-01-03"] * 2),
                          "corr_bench_60": [0.5, 1.5, np.nan, -1.0000001], "beta_bench_60": 1.0,
                          "rel_strength_20": 0.0})
    results = {r.name: r for r in run_model_tests(MODELS["cross_asset_features"], frame)}
    assert (results["unique_ticker_date"].passed, results["unique_ticker_date"].failures) == (False, 2)
    assert [s["ticker"] for s in results["unique_ticker_date"].sample] == ["A", "A"]
    assert (results["not_null_ticker_date"].passed, results["not_null_ticker_date"].failures) == (False, 1)
    rng = results["accepted_range_corr_bench_60"]
    assert (rng.passed, rng.failures) == (False, 2)  # the NaN is ignored, -1.0000001 is out
    assert [s["corr_bench_60"] for s in rng.sample] == ["1.5", "-1.0000001"]
    assert rng.sample[0] == {"ticker": "A", "date": "2024-01-02", "corr_bench_60": "1.5"}


def test_a_feature_null_for_every_row_of_a_ticker_with_enough_history_fails():
    days = pd.bdate_range("2024-01-01", periods=130)
    frame = pd.DataFrame({"ticker": np.repeat(["LONG", "SHORT"], [130, 129])[:259],
                          "date": np.concatenate([days, days[:129]]), "corr_bench_60": np.nan,
                          "beta_bench_60": 1.0, "rel_strength_20": 0.0})
    (result,) = [r for r in run_model_tests(MODELS["cross_asset_features"], frame) if r.name.startswith("not_all_null")]
    # LONG has the 130 rows the YAML asks for, all null; SHORT has too few to judge
    assert (result.passed, result.failures) == (False, 1)
    assert result.sample == [{"ticker": "LONG", "column": "corr_bench_60", "rows": "130"}]
    frame.loc[129, "corr_bench_60"] = 0.3
    assert all(r.passed for r in run_model_tests(MODELS["cross_asset_features"], frame) if r.name.startswith("not_all"))


def test_yaml_tests_pass_on_good_and_empty_frames_and_bounds_are_inclusive():
    good = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"]), "n_tickers": [1, 3],
                         "breadth": [0.0, 1.0], "median_ret_1": [np.nan, 0.1], "mean_ret_1": [np.nan, 0.1]})
    assert all(r.passed and r.failures == 0 and r.sample == [] for r in run_model_tests(MODELS["universe_daily"], good))
    assert all(r.passed for r in run_model_tests(MODELS["universe_daily"], pd.DataFrame()))
    bad = good.assign(n_tickers=[0, 3], breadth=[0.5, 1.01])
    failed = {r.name: r.failures for r in run_model_tests(MODELS["universe_daily"], bad) if not r.passed}
    assert failed == {"accepted_range_n_tickers": 1, "accepted_range_breadth": 1}
    with pytest.raises(ValueError, match="not in the model's output"):
        run_model_tests(MODELS["universe_daily"], good.drop(columns="breadth"))
