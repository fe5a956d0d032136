"""Helpers shared by the test_sql_*.py files (no tests here): random lakes and pandas references."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from financial_assets.sql_models import SqlModel, load_project, lookback_days, run_model
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.synthetic_bars import random_bars

MODELS = load_project()
TICKERS = ("AAA", "BBB", "CCC", "DDD")
RAW = ("open", "high", "low", "close", "volume")


def with_adjusted(bars: pd.DataFrame) -> pd.DataFrame:
    """`bars` with adj_* columns derived from the raw ones and `adj_factor` (volume divided by it)."""
    out = bars.copy()
    for column in ("open", "high", "low", "close"):
        out[f"adj_{column}"] = out[column] * out["adj_factor"]
    out["adj_volume"] = out["volume"] / out["adj_factor"]
    return out


def validated_frame(n: int, seed: int, tickers: tuple[str, ...] = TICKERS, missing: float = 0.04) -> pd.DataFrame:
    """Validated bars of `tickers` over `n` weekdays: random walks, a share of sessions missing per
    ticker (never the benchmark's first), the last ticker starting 15 bars late, factors != 1."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, ticker in enumerate(tickers):
        bars = random_bars(n, seed * 31 + i, ticker=ticker)
        keep = rng.uniform(size=n) >= (missing if i else 0.0)
        if i == len(tickers) - 1 and len(tickers) > 2:
            keep[:15] = False
        bars = bars.loc[keep]
        bars["adj_factor"] = np.where(bars["date"] < bars["date"].iloc[len(bars) // 2], 0.5, 1.0)
        frames.append(bars)
    frame = pd.concat(frames, ignore_index=True)
    return with_adjusted(frame).sort_values(["ticker", "date"], ignore_index=True)


def write_validated(lake: ParquetLake, frame: pd.DataFrame) -> None:
    """Store `frame` as validated_bars, replacing each ticker's partitions."""
    scope = {t: list(g["date"]) for t, g in frame.groupby("ticker")}
    lake.write("validated_bars", frame, scope)


def lake_with(root: Path, frame: pd.DataFrame) -> ParquetLake:
    lake = ParquetLake(root)
    write_validated(lake, frame)
    return lake


def run(lake: ParquetLake, model: str | SqlModel, start: object, end: object, benchmark: str = "AAA") -> pd.DataFrame:
    """Run a shipped model (by name) or `model` over [start, end]."""
    model = MODELS[model] if isinstance(model, str) else model
    return run_model(model, lake, pd.Timestamp(start).date(), pd.Timestamp(end).date(), benchmark_ticker=benchmark)


def sessions(frame: pd.DataFrame) -> pd.Series:
    """The distinct dates of `frame`, sorted."""
    return frame["date"].drop_duplicates().sort_values(ignore_index=True)


def _horizon(model: str) -> pd.Timedelta:
    return pd.Timedelta(days=lookback_days(MODELS[model].lookback_bars))


def reference_universe(frame: pd.DataFrame) -> pd.DataFrame:
    """universe_daily in pandas: per-ticker log returns over the previous bar (if within the horizon)."""
    f = frame.sort_values(["ticker", "date"]).copy()
    by = f.groupby("ticker")
    gap = f["date"] - by["date"].shift()
    f["ret"] = np.log(f["adj_close"]).groupby(f["ticker"]).diff().where(gap <= _horizon("universe_daily"))
    g = f.groupby("date")["ret"]
    out = pd.DataFrame({"n_tickers": f.groupby("date").size(), "median_ret_1": g.median(),
                        "breadth": g.apply(lambda r: (r.dropna() > 0).mean() if r.notna().any() else np.nan),
                        "mean_ret_1": g.mean()})
    return out.reset_index()


def reference_cross_asset(frame: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """cross_asset_features in pandas, with explicit 60-row windows and numpy statistics."""
    horizon = _horizon("cross_asset_features")
    f = frame.sort_values(["ticker", "date"]).copy()
    f["ret"] = np.log(f["adj_close"]).groupby(f["ticker"]).diff()
    f["prev_date"] = f.groupby("ticker")["date"].shift()
    f["ret20"] = np.log(f["adj_close"]).groupby(f["ticker"]).diff(20)
    f.loc[f["date"] - f.groupby("ticker")["date"].shift(20) > horizon, "ret20"] = np.nan
    f["rel"] = f["ret20"] - f.groupby("date")["ret20"].transform("median")
    bench = f.loc[f["ticker"] == benchmark].set_index("date")[["ret", "prev_date"]]
    rows = []
    for ticker, g in f.groupby("ticker"):
        x = g["ret"].to_numpy()
        y = bench["ret"].reindex(g["date"]).to_numpy()
        first = np.minimum(g["prev_date"].to_numpy(), bench["prev_date"].reindex(g["date"]).to_numpy())
        dates = g["date"].to_numpy()
        for i in range(len(g)):
            corr = beta = np.nan
            if i >= 59:
                xs, ys, firsts = x[i - 59:i + 1], y[i - 59:i + 1], first[i - 59:i + 1]
                full = not (np.isnan(xs).any() or np.isnan(ys).any() or pd.isna(firsts).any())
                if full and dates[i] - firsts.min() <= horizon:
                    cov = np.cov(xs, ys, ddof=1)
                    corr, beta = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), cov[0, 1] / cov[1, 1]
            rows.append((ticker, dates[i], corr, beta))
    out = pd.DataFrame(rows, columns=["ticker", "date", "corr_bench_60", "beta_bench_60"])
    out["rel_strength_20"] = f["rel"].to_numpy()
    return out


def assert_same_values(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], columns: list[str]) -> None:
    """Equal keys row by row; numbers equal to rtol 1e-9 with NaN where NaN is expected."""
    a = actual.sort_values(keys, ignore_index=True)
    e = expected.sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(a[keys], e[keys], check_dtype=False)
    for column in columns:
        np.testing.assert_allclose(a[column].to_numpy(float), e[column].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   err_msg=column)


def day(value: object) -> dt.date:
    return pd.Timestamp(value).date()
