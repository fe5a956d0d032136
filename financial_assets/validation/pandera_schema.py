"""The pandera schema for bars: the ERROR rules, checked by a library rather than by our own code."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

_PRICE = {"dtype": float, "nullable": False}


def _increasing_in_source_order(frame: pd.DataFrame) -> pd.Series:
    """True where a row's date is not before any earlier row's date of its ticker, in source order."""
    ordered = frame.sort_values(["ticker", "source_row"])
    earlier_max = ordered.groupby("ticker")["date"].cummax().groupby(ordered["ticker"]).shift()
    return (earlier_max.isna() | (ordered["date"] >= earlier_max)).reindex(frame.index)


BARS_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, nullable=False),
        "date": pa.Column("datetime64[ns]", nullable=False),
        "open": pa.Column(checks=pa.Check.gt(0, name="positive_price"), **_PRICE),
        "high": pa.Column(checks=pa.Check.gt(0, name="positive_price"), **_PRICE),
        "low": pa.Column(checks=pa.Check.gt(0, name="positive_price"), **_PRICE),
        "close": pa.Column(checks=pa.Check.gt(0, name="positive_price"), **_PRICE),
        "volume": pa.Column(float, checks=pa.Check.ge(0, name="non_negative_volume"), nullable=False),
        "source_row": pa.Column(int),
    },
    checks=[
        pa.Check(lambda df: df["high"] >= df["low"], name="high_ge_low"),
        pa.Check(lambda df: df["low"] <= df[["open", "close"]].min(axis=1), name="low_le_open_close"),
        pa.Check(lambda df: df["high"] >= df[["open", "close"]].max(axis=1), name="high_ge_open_close"),
        pa.Check(lambda df: ~df.duplicated(["ticker", "date"], keep=False), name="unique_timestamp"),
        pa.Check(_increasing_in_source_order, name="increasing_timestamps"),
    ],
    strict=False,
    coerce=False,
)

# built-in checks keep their own names in failure cases; map them to the rule names of `rules`
_RULE_OF_CHECK = {
    "not_nullable": "not_null",
    "greater_than(0)": "positive_price",
    "greater_than_or_equal_to(0)": "non_negative_volume",
}
_WHOLE_ROW_CHECKS = {"high_ge_low", "low_le_open_close", "high_ge_open_close", "unique_timestamp",
                     "increasing_timestamps"}


def pandera_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Failing (row index, rule, column) of `frame` under BARS_SCHEMA; empty when valid.

    Whole-row checks are reported once per row with column "*".
    """
    try:
        BARS_SCHEMA.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna()]
        out = pd.DataFrame(
            {
                "index": cases["index"].astype(int).to_numpy(),
                "rule": cases["check"].map(lambda c: _RULE_OF_CHECK.get(str(c), str(c))).to_numpy(),
                "column": cases["column"].astype(str).to_numpy(),
            }
        )
        out.loc[out["rule"].isin(_WHOLE_ROW_CHECKS), "column"] = "*"
        return out.drop_duplicates().sort_values(["index", "rule", "column"]).reset_index(drop=True)
    return pd.DataFrame(columns=["index", "rule", "column"])
