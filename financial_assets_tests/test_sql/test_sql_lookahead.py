"""No look-ahead in the SQL models: changing bars after a date D leaves every row at or before D as it was.

Each check writes the bars to a fresh lake, runs the model over the whole range, changes the bars
after the cut (financial_assets.core.lookahead.perturb_after, then also deleting some later bars and
adding a ticker that only starts after the cut), rewrites, reruns and compares rows <= cut to 1e-12.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from financial_assets.core.lookahead import lookahead_violations
from financial_assets.sql_models import SqlModel, load_project
from financial_assets_tests.test_sql.test_sql_support import (
    MODELS,
    TICKERS,
    lake_with,
    run,
    sessions,
    validated_frame,
    with_adjusted,
)

_COUNTER = itertools.count()


def model_runner(model: SqlModel, root: Path, benchmark: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """bars -> the model's output over the bars' whole date range, from a lake of its own (memoised)."""
    done: dict[int, pd.DataFrame] = {}

    def compute(bars: pd.DataFrame) -> pd.DataFrame:
        key = int(pd.util.hash_pandas_object(bars, index=False).sum())
        if key not in done:
            lake = lake_with(root / f"lake{next(_COUNTER)}", with_adjusted(bars))
            done[key] = run(lake, model, bars["date"].min(), bars["date"].max(), benchmark=benchmark)
        return done[key].copy()

    return compute


def keys_of(model: SqlModel) -> tuple[str, ...]:
    return ("date",) if model.name == "universe_daily" else ("ticker", "date")


def restructured_after(bars: pd.DataFrame, cut: pd.Timestamp, seed: int) -> pd.DataFrame:
    """`bars` with a third of the later rows deleted and a new ticker trading only after `cut`."""
    rng = np.random.default_rng(seed)
    later = bars["date"] > cut
    drop = later & (rng.uniform(size=len(bars)) < 0.33)
    newcomer = bars.loc[later & (bars["ticker"] == bars["ticker"].iloc[0])].assign(ticker="NEW")
    return pd.concat([bars.loc[~drop], newcomer], ignore_index=True)


def assert_rows_unchanged(before: pd.DataFrame, after: pd.DataFrame, cut: pd.Timestamp, keys: tuple[str, ...]) -> None:
    left = before.loc[before["date"] <= cut].sort_values(list(keys), ignore_index=True)
    right = after.loc[after["date"] <= cut].sort_values(list(keys), ignore_index=True)
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 100_000), cut_share=st.floats(0.1, 0.95), n=st.integers(70, 140),
       name=st.sampled_from(["universe_daily", "cross_asset_features"]), benchmark=st.sampled_from(TICKERS[:3]))
def test_sql_models_never_see_bars_after_the_cut(tmp_path_factory, seed, cut_share, n, name, benchmark):
    model = MODELS[name]
    bars = validated_frame(n, seed)
    days = sessions(bars)
    cut = days.iloc[int(cut_share * (len(days) - 1))]
    compute = model_runner(model, tmp_path_factory.mktemp("lookahead"), benchmark)
    before = compute(bars)
    assert lookahead_violations(compute, bars, cut, seed=seed, keys=keys_of(model)) == []
    after = compute(restructured_after(bars, cut, seed))
    assert_rows_unchanged(before, after, cut, keys_of(model))
    assert before["date"].max() == days.iloc[-1] and (before["date"] > cut).any()  # later rows exist


LEAKS = {
    "next_bar": "lead(adj_close) over (partition by ticker order by date) / adj_close",
    "following_window": "avg(adj_close) over (partition by ticker order by date "
                        "rows between 2 preceding and 1 following)",
    "whole_history_mean": "adj_close / avg(adj_close) over (partition by ticker)",
}


@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_the_guard_catches_a_model_that_reads_later_bars(tmp_path, leak):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "leaky.sql").write_text(
        f"select ticker, date, {LEAKS[leak]} as value from (select * from {{{{ source('lake', 'validated_bars') }}}}) "
        "qualify date between $start_date and $end_date")
    leaky = load_project(folder)["leaky"]
    bars = validated_frame(60, seed=9)
    cut = sessions(bars).iloc[30]
    compute = model_runner(leaky, tmp_path, "AAA")
    assert lookahead_violations(compute, bars, cut, seed=1, keys=("ticker", "date")) == ["value"]
