"""The dbt-like SQL layer: project loading, values against pandas, binding, idempotency, no look-ahead."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import financial_assets.sql_models.engine as engine_module
from financial_assets.lake import ParquetLake
from financial_assets.lookahead import perturb_after
from financial_assets.sql_models import SqlModel, load_project, run_model, run_model_tests
from financial_assets_tests.synthetic_bars import random_bars

MODELS = load_project()
TICKERS = ("AAA", "BBB", "CCC")


def validated_frame(n: int, seed: int) -> pd.DataFrame:
    frames = []
    for i, ticker in enumerate(TICKERS):
        bars = random_bars(n, seed + i, ticker=ticker)
        bars["adj_close"] = bars["close"]
        frames.append(bars)
    return pd.concat(frames, ignore_index=True)


def write_validated(lake: ParquetLake, frame: pd.DataFrame) -> None:
    scope = {t: list(g["date"]) for t, g in frame.groupby("ticker")}
    lake.write("validated_bars", frame, scope)


def run(lake: ParquetLake, name: str, start, end, benchmark: str = "AAA") -> pd.DataFrame:
    return run_model(MODELS[name], lake, pd.Timestamp(start).date(), pd.Timestamp(end).date(), benchmark_ticker=benchmark)


@pytest.fixture
def lake(tmp_path) -> ParquetLake:
    lake = ParquetLake(tmp_path)
    write_validated(lake, validated_frame(150, seed=1))
    return lake


def test_models_are_ordered_by_their_refs():
    names = list(MODELS)
    assert names.index("cross_asset_features") < names.index("training_table")
    assert MODELS["training_table"].refs == ("cross_asset_features",)
    assert set(MODELS["training_table"].sources) == {"features", "labels"}


@pytest.mark.parametrize("files, message", [
    ({"a.sql": "select * from {{ ref('nope') }}"}, "unknown model"),
    ({"a.sql": "select * from {{ ref('b') }}", "b.sql": "select * from {{ ref('a') }}"}, "cycle"),
    ({"Bad-Name.sql": "select 1"}, "safe identifier"),
    ({"a.sql": "select 1", "a.yml": "tests: [{fancy: [x]}]"}, "unknown test"),
])
def test_project_errors_are_clear(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_project(tmp_path)


def test_universe_daily_matches_pandas(lake):
    frame = lake.read("validated_bars")
    frame["ret_1"] = np.log(frame["adj_close"]).groupby(frame["ticker"]).diff()
    start, end = frame["date"].iloc[40], frame["date"].iloc[80]
    expected = frame.loc[frame["date"].between(start, end)].groupby("date")["ret_1"]
    out = run(lake, "universe_daily", start, end).set_index("date")
    np.testing.assert_allclose(out["median_ret_1"], expected.median(), rtol=1e-9)
    np.testing.assert_allclose(out["breadth"], expected.apply(lambda r: (r > 0).mean()), rtol=1e-12)
    assert (out["n_tickers"] == 3).all()


def test_cross_asset_features_match_pandas(lake):
    frame = lake.read("validated_bars")
    wide = np.log(frame.pivot(index="date", columns="ticker", values="adj_close"))
    ret = wide.diff()
    corr = ret["BBB"].rolling(60).corr(ret["AAA"])
    beta = ret["BBB"].rolling(60).cov(ret["AAA"]) / ret["AAA"].rolling(60).var()
    ret20 = wide.diff(20)
    rel = ret20["BBB"] - ret20.median(axis=1)
    start, end = wide.index[70], wide.index[149]
    out = run(lake, "cross_asset_features", start, end).query("ticker == 'BBB'").set_index("date")
    np.testing.assert_allclose(out["corr_bench_60"], corr.loc[start:end], rtol=1e-9)
    np.testing.assert_allclose(out["beta_bench_60"], beta.loc[start:end], rtol=1e-9)
    np.testing.assert_allclose(out["rel_strength_20"], rel.loc[start:end], rtol=1e-9)
    first = run(lake, "cross_asset_features", wide.index[0], wide.index[70]).query("ticker == 'BBB'")
    assert first["corr_bench_60"].isna().sum() == 60  # no partial windows


def test_values_are_bound_as_parameters_never_formatted(lake):
    hostile = "AAA'; DROP TABLE validated_bars; --"
    out = run(lake, "cross_asset_features", "2010-03-01", "2010-04-01", benchmark=hostile)
    assert out["corr_bench_60"].isna().all()  # no such ticker: data, not SQL
    assert len(run(lake, "universe_daily", "2010-03-01", "2010-04-01")) > 0
    source = Path(engine_module.__file__).read_text()
    assert not re.search(r"execute\([^)]*(f\"|f'|\.format\(|%)", source)


def test_a_date_alone_equals_the_same_date_inside_a_range_and_reruns_are_identical(lake):
    dates = lake.read("validated_bars")["date"].drop_duplicates().sort_values()
    day = dates.iloc[100]
    for name in ("universe_daily", "cross_asset_features"):
        wide = run(lake, name, dates.iloc[70], dates.iloc[140])
        alone = run(lake, name, day, day)
        pd.testing.assert_frame_equal(wide.loc[wide["date"] == day].reset_index(drop=True), alone)
        pd.testing.assert_frame_equal(wide, run(lake, name, dates.iloc[70], dates.iloc[140]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), cut_share=st.floats(0.2, 0.9), name=st.sampled_from(["universe_daily", "cross_asset_features"]))
def test_sql_models_never_see_bars_after_the_cut(tmp_path_factory, seed, cut_share, name):
    root = tmp_path_factory.mktemp("lake")
    frame = validated_frame(120, seed)
    dates = frame["date"].drop_duplicates().sort_values()
    cut = dates.iloc[int(cut_share * (len(dates) - 1))]

    def compute(bars: pd.DataFrame) -> pd.DataFrame:
        lake = ParquetLake(root / str(abs(hash(bars.to_numpy().tobytes()))))
        write_validated(lake, bars.assign(adj_close=bars["close"]))
        return run(lake, name, dates.iloc[0], dates.iloc[-1])

    def perturbed_by_ticker(bars: pd.DataFrame, when: pd.Timestamp, s: int) -> pd.DataFrame:
        return pd.concat([perturb_after(g, when, s + i) for i, (_, g) in enumerate(bars.groupby("ticker"))])

    keys = ("ticker", "date") if name != "universe_daily" else ("date",)
    base = compute(frame)
    moved = compute(perturbed_by_ticker(frame, cut, seed))
    left = base.loc[base["date"] <= cut].sort_values(list(keys)).reset_index(drop=True)
    right = moved.loc[moved["date"] <= cut].sort_values(list(keys)).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_exact=False, atol=1e-12, rtol=0)


def test_the_guard_catches_a_model_that_reads_the_next_bar(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "leaky.sql").write_text(
        "select ticker, date, lead(adj_close) over (partition by ticker order by date) / adj_close as next_ret "
        "from {{ source('lake', 'validated_bars') }} where date between $start_date and $end_date")
    leaky = load_project(models)["leaky"]
    frame = validated_frame(60, seed=9)
    cut = frame["date"].drop_duplicates().sort_values().iloc[30]
    outputs = []
    for i, bars in enumerate([frame, pd.concat([perturb_after(g, cut, 1) for _, g in frame.groupby("ticker")])]):
        lake = ParquetLake(tmp_path / f"lake{i}")
        write_validated(lake, bars.assign(adj_close=bars["close"]))
        outputs.append(run_model(leaky, lake, frame["date"].min().date(), frame["date"].max().date(), benchmark_ticker="AAA"))
    at_cut = [o.loc[o["date"] == cut].sort_values("ticker")["next_ret"].to_numpy() for o in outputs]
    assert not np.allclose(at_cut[0], at_cut[1])


def test_training_table_pairs_features_and_labels_of_the_same_ticker_and_date(lake):
    frame = lake.read("validated_bars")
    day_number = (frame["date"] - pd.Timestamp("2000-01-01")).dt.days.astype(float)
    ticker_code = frame["ticker"].map({t: i for i, t in enumerate(TICKERS)}).astype(float)
    scope = {t: list(g["date"]) for t, g in frame.groupby("ticker")}
    features = frame[["ticker", "date"]].assign(feat_day=day_number, feat_ticker=ticker_code)
    # labels shuffled and one row short, so a join by position would misalign
    labels = frame[["ticker", "date"]].assign(lab_day=day_number, lab_ticker=ticker_code,
                                              dir_1=1.0, tb_label=-1.0).sample(frac=1, random_state=1).iloc[1:]
    lake.write("features", features, scope)
    lake.write("labels", labels, scope)
    dates = frame["date"].drop_duplicates().sort_values()
    lake.write("cross_asset_features", run(lake, "cross_asset_features", dates.iloc[0], dates.iloc[-1]), {None: list(dates)})
    table = run(lake, "training_table", dates.iloc[0], dates.iloc[-1])
    assert len(table) == len(features)
    paired = table.dropna(subset=["lab_day"])
    assert len(paired) == len(labels)
    assert (paired["feat_day"] == paired["lab_day"]).all() and (paired["feat_ticker"] == paired["lab_ticker"]).all()
    assert all(r.passed for r in run_model_tests(MODELS["training_table"], table))


def test_yaml_tests_report_failures_with_counts_and_samples():
    model: SqlModel = MODELS["cross_asset_features"]
    frame = pd.DataFrame({"ticker": ["A", "A", None], "date": pd.to_datetime(["2024-01-02"] * 3),
                          "corr_bench_60": [0.5, 1.5, np.nan]})
    results = {r.name: r for r in run_model_tests(model, frame)}
    assert (results["unique_ticker_date"].passed, results["unique_ticker_date"].failures) == (False, 2)
    assert (results["not_null_ticker_date"].passed, results["not_null_ticker_date"].failures) == (False, 1)
    assert results["accepted_range_corr_bench_60"].failures == 1
    assert results["accepted_range_corr_bench_60"].sample[0]["corr_bench_60"] == "1.5"
