"""The Great Expectations 1.x suite for bars: the same hard rules plus distribution checks.

Distribution checks run on columns derived by `rules` (adjusted log return, run lengths) so the
thresholds live in one place; GX evaluates them and reports unexpected values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from financial_assets.validation import rules


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result: success, how many rows failed, a sample and their (ticker, date)."""

    expectation: str
    column: str
    success: bool
    unexpected_count: int
    sample: list
    failing: tuple[tuple[str, pd.Timestamp], ...] = ()  # (ticker, date) of every unexpected row


def _expectations() -> list:
    prices = ("open", "high", "low", "close")
    out: list = [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in (*prices, "volume")]
    out += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True) for c in prices]
    out.append(gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0))
    out += [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B=c, or_equal=True)
        for c in ("low", "open", "close")
    ]
    out += [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=c, column_B="low", or_equal=True)
        for c in ("open", "close")
    ]
    out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=["ticker", "date"]))
    out.append(gxe.ExpectColumnValuesToBeIncreasing(column="date_in_ticker_order", strictly=True))
    out.append(gxe.ExpectColumnValuesToBeBetween(column="abs_log_return", max_value=rules.EXTREME_LOG_RETURN))
    out.append(gxe.ExpectColumnValuesToBeBetween(column="unchanged_close_run", max_value=rules.STALE_RUN_BARS - 2))
    out.append(gxe.ExpectColumnValuesToBeBetween(column="zero_volume_run", max_value=rules.ZERO_VOLUME_RUN_BARS - 1))
    return out


@lru_cache(maxsize=1)
def _validation_definition():
    # building a context costs about a second: do it once per process
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("bars")
    batch = source.add_dataframe_asset("bars").add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add(gx.ExpectationSuite(name="bars_suite", expectations=_expectations()))
    return context.validation_definitions.add(gx.ValidationDefinition(name="bars", data=batch, suite=suite))


def derived_columns(bars: pd.DataFrame) -> pd.DataFrame:
    """`bars` (any tickers) in source order per ticker, with the columns the distribution checks read."""
    frame = bars.sort_values(["ticker", "source_row"], kind="stable").reset_index(drop=True)
    first = frame["ticker"].ne(frame["ticker"].shift())
    frame["abs_log_return"] = rules.adjusted_log_returns(frame).mask(first).abs()
    frame["unchanged_close_run"] = rules.run_lengths(frame["close"].diff().eq(0) & ~first, first)
    frame["zero_volume_run"] = rules.run_lengths(frame["volume"].eq(0), first)
    # one key that increases strictly when each ticker's dates do: ticker rank * 1e6 days + day number
    rank = frame["ticker"].rank(method="dense").astype("int64")
    frame["date_in_ticker_order"] = rank * 1_000_000 + frame["date"].values.astype("datetime64[D]").astype("int64")
    return frame


def run_gx_suite(bars: pd.DataFrame, judged: pd.Series | None = None) -> list[ExpectationOutcome]:
    """Validate `bars` with the suite and return one outcome per expectation.

    `judged` (aligned with `bars`) marks the rows to judge; the others only give history to the
    derived columns (the return of the first judged bar needs the bar before it).
    """
    frame = bars.assign(_judged=True if judged is None else judged.to_numpy())
    derived = derived_columns(frame)
    derived = derived.loc[derived.pop("_judged").astype(bool)].reset_index(drop=True)
    result = _validation_definition().run(batch_parameters={"dataframe": derived}, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": ["ticker", "date"]})
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or ",".join(filter(None, [kwargs.get("column_A"), kwargs.get("column_B")])) \
            or ",".join(kwargs.get("column_list", []))
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=column,
                success=bool(r.success),
                unexpected_count=int(r.result.get("unexpected_count") or 0),
                sample=[str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
                failing=tuple((row["ticker"], pd.Timestamp(row["date"]))
                              for row in r.result.get("unexpected_index_list") or []),
            )
        )
    return outcomes
