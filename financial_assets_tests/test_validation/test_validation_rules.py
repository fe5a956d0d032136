"""The bar rules as pure functions, and agreement with pandera and Great Expectations (the libraries)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.validation import rules
from financial_assets.validation.gx_suite import run_gx_suite
from financial_assets.validation.pandera_schema import pandera_failures
from financial_assets.validation.triage import triage_bars


def bars(n: int = 8, ticker: str = "AAA") -> pd.DataFrame:
    close = 100.0 + np.arange(n)
    return pd.DataFrame(
        {
            "ticker": ticker,
            "date": pd.bdate_range("2024-01-02", periods=n),
            "open": close - 0.5, "high": close + 1, "low": close - 1, "close": close,
            "volume": 1e6 + np.arange(n), "adj_close": close, "source_row": np.arange(n),
        }
    )


BREAKERS = {
    "not_null": lambda f: f.__setitem__("close", f["close"].where(f.index != 3)),
    "positive_price": lambda f: f.loc.__setitem__((3, "open"), 0.0),
    "non_negative_volume": lambda f: f.loc.__setitem__((3, "volume"), -5.0),
    "high_ge_low": lambda f: f.loc.__setitem__((3, ["high", "low"]), [90.0, 95.0]),
    "low_le_open_close": lambda f: f.loc.__setitem__((3, "low"), 104.0),
    "high_ge_open_close": lambda f: f.loc.__setitem__((3, "high"), 102.0),
    "unique_timestamp": lambda f: f.loc.__setitem__((3, "date"), f.loc[2, "date"]),
    "increasing_timestamps": lambda f: f.loc.__setitem__((3, "date"), pd.Timestamp("2023-12-01")),
}


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_each_error_rule_flags_the_broken_row(rule):
    frame = bars()
    BREAKERS[rule](frame)
    found = rules.error_violations(frame)
    assert rule in set(found["rule"])
    assert 3 in set(found.loc[found["rule"] == rule, "source_row"])
    assert set(found["severity"]) == {rules.ERROR}


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_pandera_schema_rejects_the_same_rows_as_the_rules(rule):
    frame = bars()
    BREAKERS[rule](frame)
    ours = rules.error_violations(frame)
    theirs = pandera_failures(frame)
    theirs_rows = frame.loc[theirs["index"], "source_row"]
    assert set(zip(ours["source_row"], ours["rule"], strict=True)) == set(zip(theirs_rows, theirs["rule"], strict=True))


def test_clean_bars_break_no_rule_in_any_engine():
    frame = bars()
    assert rules.error_violations(frame).empty
    assert pandera_failures(frame).empty
    assert all(o.success for o in run_gx_suite(frame))


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_great_expectations_suite_catches_each_error_rule(rule):
    frame = bars()
    BREAKERS[rule](frame)
    assert not all(o.success for o in run_gx_suite(frame))


def test_run_lengths_restart_at_false_and_at_group_starts():
    flags = pd.Series([True, True, False, True, True, True])
    assert rules.run_lengths(flags).tolist() == [1, 2, 0, 1, 2, 3]
    starts = pd.Series([True, False, False, False, True, False])
    assert rules.run_lengths(flags, starts).tolist() == [1, 2, 0, 1, 1, 2]


def test_distribution_rules_warn_on_crash_stale_and_quiet_bars():
    frame = bars(12)
    frame.loc[4, ["open", "high", "low", "close", "adj_close"]] = [50.0, 51.0, 49.0, 50.0, 50.0]  # -70% day
    frame.loc[6:10, ["open", "high", "low", "close", "adj_close"]] = 55.0
    frame.loc[8:10, "volume"] = 0.0
    found = rules.warn_violations(frame)
    assert set(found["rule"]) == {"extreme_return", "stale_price", "zero_volume_run"}
    assert set(found["severity"]) == {rules.WARN}
    assert pd.Timestamp(frame.loc[4, "date"]) in set(found.loc[found["rule"] == "extreme_return", "date"])
    assert found.loc[found["rule"] == "zero_volume_run", "date"].min() == frame.loc[10, "date"]
    gx_failed = {o.column for o in run_gx_suite(frame) if not o.success}
    assert gx_failed == {"abs_log_return", "unchanged_close_run", "zero_volume_run"}


def test_a_split_explained_by_the_adjusted_close_is_a_corporate_action_not_a_crash():
    frame = bars(6)
    # 2-for-1 split before row 3: raw prices halve, the adjusted close carries on smoothly
    frame.loc[:2, ["open", "high", "low", "close"]] *= 2
    frame["adj_close"] = frame["close"].where(frame.index >= 3, frame["close"] / 2)
    adjusted = rules.split_adjust(frame)
    assert adjusted["corporate_action"].tolist() == [False, False, False, True, False, False]
    assert rules.warn_violations(adjusted).empty
    assert np.allclose(adjusted.loc[:2, "adj_close"], frame.loc[:2, "close"] / 2)
    assert np.allclose(adjusted.loc[:2, "adj_volume"], frame.loc[:2, "volume"] * 2)
    # the raw prices are kept
    assert adjusted["close"].tolist() == frame["close"].tolist()


def test_triage_rejects_errors_keeps_warnings_and_never_modifies_raw():
    raw = bars(10)
    raw.loc[5, "high"] = raw.loc[5, "low"] - 1
    before = raw.copy()
    sessions = pd.DatetimeIndex(raw["date"])
    result = triage_bars(raw, sessions[2:], sessions)
    pd.testing.assert_frame_equal(raw, before)
    assert raw.loc[5, "date"] not in set(result.validated["date"])
    assert result.validated["date"].min() == sessions[2]
    rejected = result.quarantine.loc[result.quarantine["severity"] == "error"]
    assert set(rejected["date"]) == {sessions[5]} and "high_ge_low" in set(rejected["rule"])
    assert set(rejected["ticker"]) == {"AAA"}


def test_missing_sessions_inside_the_history_are_recorded():
    raw = bars(6).drop(index=3)
    sessions = pd.bdate_range("2024-01-02", periods=6)
    result = triage_bars(raw, sessions, sessions)
    gaps = result.quarantine.loc[result.quarantine["rule"] == "missing_session"]
    assert gaps["date"].tolist() == [sessions[3]]
