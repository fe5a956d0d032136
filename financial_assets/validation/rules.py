"""The bar rules as vectorised functions: which rows break which rule, and how badly.

ERROR rules reject a bar (it goes to quarantine and never reaches downstream assets);
WARN rules keep the bar but record it, because real markets do crash and go quiet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ERROR = "error"
WARN = "warn"

#: |log return| of the split-adjusted close above which a bar is flagged (about ±22%).
EXTREME_LOG_RETURN = 0.25
#: a close unchanged for this many consecutive bars is stale
STALE_RUN_BARS = 5
#: this many consecutive zero-volume bars is a suspicious run
ZERO_VOLUME_RUN_BARS = 3

QUARANTINE_COLUMNS = ("ticker", "date", "rule", "severity", "column", "value", "detail", "source_row")


#: rule -> severity. Row rules are judged here; source rules are raised while reading a file or a
#: bar that cannot become a partition (`financial_assets.sources`, the raw_bars asset) and are
#: recorded with the same columns, so every rejection is in one quarantine table.
SEVERITY: dict[str, str] = {
    **dict.fromkeys(("not_null", "positive_price", "non_negative_volume", "high_ge_low", "low_le_open_close",
                     "high_ge_open_close", "unique_timestamp", "increasing_timestamps"), ERROR),
    **dict.fromkeys(("extreme_return", "stale_price", "zero_volume_run", "missing_session"), WARN),
    # a bar on a day the exchange calendar has no session, an intraday bar outside every session
    **dict.fromkeys(("trading_session", "outside_session"), ERROR),
}
#: rules that reject a whole file: the ticker has no bars for the run
FILE_RULES = frozenset({"file_exists", "non_empty", "readable_file", "required_columns", "numeric_values",
                        "parseable_dates", "single_timezone", "date_not_in_future", "ticker_safe_identifier",
                        "unique_ticker_file", "daily_bars_only", "ticker_in_source", "source_folder_exists"})


def run_lengths(flags: pd.Series, starts: pd.Series | None = None) -> pd.Series:
    """For a boolean series, the length of the run of True values ending at each row (0 if False).

    `starts` marks rows where a new group (ticker) begins: runs never cross them.
    """
    values = flags.to_numpy(dtype=bool)
    begins = np.zeros_like(values) if starts is None else starts.to_numpy(dtype=bool)
    counts = np.cumsum(values)
    reset_at = np.where(~values, counts, np.where(begins, counts - 1, 0))
    return pd.Series(counts - np.maximum.accumulate(reset_at), index=flags.index)


def adjusted_log_returns(frame: pd.DataFrame) -> pd.Series:
    """1-bar log returns of the split-adjusted close, in date order (frame sorted by date)."""
    adj = frame["adj_close"].where(frame["adj_close"].notna(), frame["close"])
    return np.log(adj).diff()


def _records(frame: pd.DataFrame, mask: pd.Series, rule: str, column: str, value: pd.Series,
             detail: str) -> pd.DataFrame:
    hit = frame.loc[mask]
    return pd.DataFrame(
        {
            "ticker": hit["ticker"].to_numpy(),
            "date": hit["date"].to_numpy(),
            "rule": rule,
            "severity": SEVERITY.get(rule, ERROR),
            "column": column,
            "value": value.loc[mask].astype(str).to_numpy(),
            "detail": detail,
            "source_row": hit["source_row"].to_numpy(),
        }
    )


def error_violations(raw: pd.DataFrame) -> pd.DataFrame:
    """Records of every ERROR-rule violation in `raw` (one ticker's raw bars, any order)."""
    out: list[pd.DataFrame] = []
    for column in ("open", "high", "low", "close", "volume"):
        out.append(_records(raw, raw[column].isna(), "not_null", column, raw[column], f"{column} is missing"))
    for column in ("open", "high", "low", "close"):
        out.append(_records(raw, raw[column] <= 0, "positive_price", column, raw[column], f"{column} must be > 0"))
    out.append(_records(raw, raw["volume"] < 0, "non_negative_volume", "volume", raw["volume"], "volume must be >= 0"))
    pair = "high=" + raw["high"].astype(str) + " low=" + raw["low"].astype(str)
    out.append(_records(raw, raw["high"] < raw["low"], "high_ge_low", "high", pair, "high is below low"))
    body_low = raw[["open", "close"]].min(axis=1)
    body_high = raw[["open", "close"]].max(axis=1)
    out.append(_records(raw, raw["low"] > body_low, "low_le_open_close", "low", raw["low"],
                        "low is above open or close"))
    out.append(_records(raw, raw["high"] < body_high, "high_ge_open_close", "high", raw["high"],
                        "high is below open or close"))
    dup = raw["date"].duplicated(keep=False)
    out.append(_records(raw, dup, "unique_timestamp", "date", raw["date"].dt.date, "more than one bar for this date"))
    in_source_order = raw.sort_values("source_row")
    earlier_max = in_source_order["date"].cummax().shift()
    backwards = (in_source_order["date"] < earlier_max).reindex(raw.index)
    out.append(
        _records(raw, backwards, "increasing_timestamps", "date", raw["date"].dt.date,
                 "date is before an earlier row's date in the source")
    )
    return pd.concat(out, ignore_index=True)


def warn_violations(valid: pd.DataFrame) -> pd.DataFrame:
    """Records of WARN-rule findings in `valid` (one ticker's accepted bars, sorted by date)."""
    ret = adjusted_log_returns(valid)
    unchanged = valid["close"].diff().eq(0)
    stale = run_lengths(unchanged) >= STALE_RUN_BARS - 1
    zero_run = run_lengths(valid["volume"].eq(0)) >= ZERO_VOLUME_RUN_BARS
    return pd.concat(
        [
            _records(valid, ret.abs() > EXTREME_LOG_RETURN, "extreme_return", "adj_close", ret.round(6),
                     "adjusted close moved more than the extreme-return threshold in one bar"),
            _records(valid, stale, "stale_price", "close", valid["close"],
                     f"close unchanged for {STALE_RUN_BARS}+ bars"),
            _records(valid, zero_run, "zero_volume_run", "volume", valid["volume"],
                     f"{ZERO_VOLUME_RUN_BARS}+ zero-volume bars in a row"),
        ],
        ignore_index=True,
    )


def missing_sessions(ticker: str, present: pd.Series, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """WARN records for sessions between the first and last present bar that have no bar."""
    if present.empty:
        return pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
    inside = sessions[(sessions > present.min()) & (sessions < present.max())]
    gaps = inside.difference(pd.DatetimeIndex(present))
    frame = pd.DataFrame({"ticker": ticker, "date": gaps, "source_row": -1})
    return _records(frame, pd.Series(True, index=frame.index), "missing_session", "date",
                    pd.Series("no bar", index=frame.index), "the exchange was open but the source has no bar")


def corporate_actions(valid: pd.DataFrame) -> pd.Series:
    """Bars whose raw close gapped like a crash but whose adjusted close did not: splits and the like."""
    raw = np.log(valid["close"]).diff().abs()
    return (raw > EXTREME_LOG_RETURN) & (adjusted_log_returns(valid).abs() <= EXTREME_LOG_RETURN)


def split_adjust(valid: pd.DataFrame) -> pd.DataFrame:
    """Add split-adjusted prices (adj_open/high/low/close, adj_volume) from the source's adjusted close.

    The factor adj_close / close rescales the whole bar; without an adjusted close it is 1.
    Raw prices stay untouched beside the adjusted ones.
    """
    out = valid.copy()
    factor = (out["adj_close"] / out["close"]).where(out["adj_close"].notna(), 1.0)
    out["adj_factor"] = factor
    for column in ("open", "high", "low"):
        out[f"adj_{column}"] = out[column] * factor
    out["adj_close"] = out["close"] * factor
    out["adj_volume"] = out["volume"] / factor
    out["corporate_action"] = corporate_actions(out)
    return out
