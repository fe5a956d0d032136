"""SyntheticSource: seeded, on exchange sessions only, consistent OHLC, planted AR(1) and regime shift."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.calendar import trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.sources import SyntheticSource, make_source


def _log_returns(bars: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(bars["close"].to_numpy()))


def _lag1(r: np.ndarray) -> float:
    return float(np.corrcoef(r[1:], r[:-1])[0, 1])


def test_same_seed_same_bars_other_seed_other_bars():
    a, b = (SyntheticSource(n_tickers=3, seed=1, start="2010-01-04", end="2012-12-31") for _ in range(2))
    c = SyntheticSource(n_tickers=3, seed=2, start="2010-01-04", end="2012-12-31")
    pd.testing.assert_frame_equal(a.load("SYN001"), b.load("SYN001"))
    assert not np.allclose(a.load("SYN001")["close"], c.load("SYN001")["close"])
    assert not np.allclose(a.load("SYN000")["close"], a.load("SYN001")["close"])


def test_a_tickers_bars_do_not_depend_on_the_ticker_count_or_a_later_end():
    short = SyntheticSource(n_tickers=2, seed=5, start="2010-01-04", end="2011-06-30").load("SYN001")
    longer = SyntheticSource(n_tickers=6, seed=5, start="2010-01-04", end="2012-12-31").load("SYN001")
    pd.testing.assert_frame_equal(short, longer.iloc[: len(short)])


def test_bars_are_canonical_consistent_and_on_sessions_only():
    source = make_source("synthetic", n_synthetic=4, seed=3, calendar_code="XNYS", start="2010-01-04")
    assert source.name == "synthetic" and source.tickers() == ["SYN000", "SYN001", "SYN002", "SYN003"]
    sessions = trading_sessions("XNYS", "2010-01-04", (dt.date.today() - dt.timedelta(days=1)).isoformat())
    for ticker in source.tickers():
        x = source.load(ticker)
        assert list(x.columns) == list(RAW_COLUMNS) and str(x["date"].dtype) == "datetime64[ns]"
        assert x["date"].tolist() == list(sessions) and x["source_row"].tolist() == list(range(len(x)))
        assert (x["date"].dt.dayofweek < 5).all() and pd.Timestamp("2012-12-25") not in set(x["date"])
        assert pd.Timestamp("2012-10-29") not in set(x["date"])  # hurricane Sandy closure
        body_low, body_high = x[["open", "close"]].min(axis=1), x[["open", "close"]].max(axis=1)
        assert (x["low"] > 0).all() and (x["low"] <= body_low).all() and (body_high <= x["high"]).all()
        assert (x["volume"] > 0).all() and (x["volume"] == x["volume"].round()).all()
        assert (x["adj_close"] == x["close"]).all() and x.notna().all().all()


def test_a_24_7_calendar_has_every_day():
    x = SyntheticSource(n_tickers=1, seed=1, calendar_code="24/7", start="2020-01-01", end="2020-01-31").load("SYN000")
    assert len(x) == 31 and (x["date"].diff().dropna() == pd.Timedelta(days=1)).all()


def test_the_window_is_inclusive():
    source = SyntheticSource(n_tickers=1, seed=1, start="2013-01-02", end="2013-12-31")
    week = source.load("syn000", dt.date(2013, 1, 3), dt.date(2013, 1, 7))
    assert week["date"].dt.day.tolist() == [3, 4, 7] and week["source_row"].tolist() == [1, 2, 3]


def test_planted_ar1_is_recovered_and_none_means_none():
    planted = SyntheticSource(n_tickers=4, seed=3, start="1995-01-03", end="2020-12-31", ar1=0.2)
    plain = SyntheticSource(n_tickers=4, seed=3, start="1995-01-03", end="2020-12-31")
    estimates = [_lag1(_log_returns(planted.load(t))) for t in planted.tickers()]
    controls = [_lag1(_log_returns(plain.load(t))) for t in plain.tickers()]
    assert np.mean(estimates) == pytest.approx(0.2, abs=0.03)
    assert abs(np.mean(controls)) < 0.03


def test_volatility_clusters():
    source = SyntheticSource(n_tickers=1, seed=8, start="1995-01-03", end="2020-12-31")
    r = _log_returns(source.load("SYN000"))
    assert _lag1(r**2) > 0.05  # GARCH: big moves follow big moves
    assert abs(_lag1(r)) < 0.05


def test_regime_shift_raises_volatility_after_the_date():
    source = SyntheticSource(n_tickers=3, seed=4, start="2000-01-03", end="2010-12-31", regime_shift="2005-01-03",
                             shift_vol=2.0)
    for ticker in source.tickers():
        r = pd.Series(np.log(source.load(ticker)["close"]).diff().to_numpy(), index=source.sessions)
        ratio = r["2005-01-03":].std() / r[:"2004-12-31"].std()
        assert 1.6 < ratio < 2.5


def test_regime_shift_can_flip_the_drift():
    source = SyntheticSource(n_tickers=1, seed=4, start="2000-01-03", end="2010-12-31", regime_shift="2005-01-03",
                             shift_vol=1.0, shift_drift=-1.0, mu=0.004)
    r = pd.Series(np.log(source.load("SYN000")["close"]).diff().to_numpy(), index=source.sessions)
    assert r[:"2004-12-31"].mean() > 0.002 and r["2005-01-04":].mean() < -0.002


def test_unknown_tickers_and_bad_parameters_are_errors():
    source = SyntheticSource(n_tickers=2, seed=1, start="2013-01-02", end="2013-01-31")
    for name in ("SYN002", "SYN0001", "AAPL"):
        with pytest.raises(BarDataError, match=r"\[ticker_in_source\]"):
            source.load(name)
    with pytest.raises(ValueError):
        SyntheticSource(ar1=1.0)


def test_500_tickers_by_5000_sessions_generate_in_a_few_seconds():
    trading_sessions("XNYS", "2000-01-03", "2019-11-01")  # the calendar is built once per process
    began = time.perf_counter()
    source = SyntheticSource(n_tickers=500, seed=11, start="2000-01-03", end="2019-11-01")
    panel = source._panel
    seconds = time.perf_counter() - began
    assert panel.close.shape == (500, len(source.sessions)) and len(source.sessions) >= 4990
    assert np.isfinite(panel.close).all() and seconds < 10, f"{seconds:.1f}s"
