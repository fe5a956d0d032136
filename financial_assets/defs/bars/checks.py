"""Checks on validated_bars, each evaluated once per run, whose status is the state of every registered ticker.

Unpartitioned on purpose: a partitioned check stores one planned row per partition holding the
whole run's partition list (quadratic in the range), and its single result leaves every partition
"skipped" in the UI. Each evaluation judges the run's partitions and carries what earlier runs found
failing elsewhere (`check_state`), so a run of one ticker never turns another ticker's failure green.
Both checks are non-blocking: a rejected bar affects only its own ticker.
"""

import dagster as dg
import pandas as pd

from financial_assets.core.tickers import TICKERS_PARTITION_NAME
from financial_assets.defs.bars import check_state
from financial_assets.defs.bars.assets import CONTEXT_BARS
from financial_assets.defs.holdback import tickers_going_on
from financial_assets.defs.partitions import dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.validation.pandera_schema import pandera_failures
from financial_assets.validation.rules import FILE_RULES

#: failing rows listed in full in a check's metadata; the quarantine holds every one of them
MAX_LISTED = 500


def _run_rows(lake: LakeResource, asset: str, wanted: dict[str, pd.DatetimeIndex], context_bars: int = 0,
              sessions: pd.DatetimeIndex | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Rows of `asset` for the run's partitions (plus `context_bars` earlier bars), and a mask of the run's own rows."""
    frames, masks = [], []
    for ticker, dates in wanted.items():
        start = dates[0]
        if context_bars and sessions is not None:
            start = sessions[max(sessions.searchsorted(start) - context_bars, 0)]
        rows = lake.read(asset, [ticker], start=start, end=dates[-1])
        if len(rows):
            frames.append(rows)
            masks.append(rows["date"].isin(dates))
    if not frames:
        return pd.DataFrame(), pd.Series([], dtype=bool)
    return pd.concat(frames, ignore_index=True), pd.concat(masks, ignore_index=True)


def _failure_table(raw: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """ticker, date, rule, column, value of every failing (row, rule) pandera found."""
    rows = raw.loc[failures["index"].to_numpy()].reset_index(drop=True)
    # a whole-row rule (high >= low, unique dates, ...) shows the bar itself
    values = [(" ".join(f"{p}={row[p]}" for p in ("date", "open", "high", "low", "close")) if c == "*" else str(row[c]))
              for c, (_, row) in zip(failures["column"], rows.iterrows(), strict=True)]
    return pd.DataFrame({"ticker": rows["ticker"], "date": rows["date"], "rule": failures["rule"].to_numpy(),
                         "column": failures["column"].to_numpy(), "value": values})


def _state(context: dg.AssetCheckExecutionContext, check: str, wanted: dict[str, pd.DatetimeIndex],
           found: pd.DataFrame) -> pd.DataFrame:
    """The rows failing now for every registered ticker: earlier evaluations' outside the run, `found` inside."""
    instance = context.instance
    key = dg.AssetCheckKey(dg.AssetKey("validated_bars"), check)
    before = check_state.previous(instance, key, context.op_execution_context.run_id)
    return check_state.carried(before, wanted, found, instance.get_dynamic_partitions(TICKERS_PARTITION_NAME))


def _listed(table: pd.DataFrame) -> dg.MetadataValue:
    if table.empty:
        return dg.MetadataValue.md("_none_")
    more = f"\n\n... and {len(table) - MAX_LISTED} more rows: see quarantined_bars" if len(table) > MAX_LISTED else ""
    return dg.MetadataValue.md(table.head(MAX_LISTED).to_markdown(index=False) + more)


@dg.asset_check(
    asset="validated_bars",
    blocking=False,
    description="pandera schema of bars (types, no nulls, prices > 0, volume >= 0, low <= open/close <= high, unique "
    "increasing dates), for every registered ticker: each run judges its own partitions (the stored validated bars "
    "must all pass; every raw bar the schema rejects and every rejected file is listed with ticker, date, rule and "
    "value) and keeps what earlier runs found failing elsewhere, so it passes only when no ticker has a rejected bar "
    "or file. WARN when bars are rejected; ERROR when a ticker is held back (an unreadable file, or more rejected bars "
    "than FA_MAX_REJECTED_SHARE) or a stored bar is invalid.",
)
def bars_schema_pandera(context: dg.AssetCheckExecutionContext, lake: LakeResource,
                        market: MarketResource) -> dg.AssetCheckResult:
    """The pandera schema over the run's raw and stored bars, with what earlier runs found."""
    wanted = dates_by_ticker(context.op_execution_context.partition_keys)
    raw, _ = _run_rows(lake, "raw_bars", wanted)
    validated, _ = _run_rows(lake, "validated_bars", wanted)
    raw_failures = pandera_failures(raw) if len(raw) else pd.DataFrame(columns=["index", "rule", "column"])
    stored_failures = pandera_failures(validated[raw.columns.intersection(validated.columns)]) if len(validated) \
        else raw_failures.iloc[:0]
    table = _failure_table(raw, raw_failures) if len(raw_failures) else pd.DataFrame(columns=check_state.COLUMNS)
    _, held = tickers_going_on(lake, market, wanted)
    quarantine = lake.read_span("quarantined_bars", wanted)
    files = quarantine.loc[quarantine["rule"].isin(FILE_RULES)] if len(quarantine) else quarantine
    state = _state(context, "bars_schema_pandera", wanted,
                   pd.concat([f for f in (table, files) if len(f)] or [check_state.empty()], ignore_index=True))
    per_ticker = table.groupby(["ticker", "rule"]).size().rename("bars").reset_index() if len(table) else table
    serious = bool(held) or len(stored_failures) > 0 or state["rule"].isin(FILE_RULES).any()
    return dg.AssetCheckResult(
        passed=bool(state.empty and len(stored_failures) == 0),
        severity=dg.AssetCheckSeverity.ERROR if serious else dg.AssetCheckSeverity.WARN,
        metadata={
            "partitions_checked": dg.MetadataValue.int(sum(len(d) for d in wanted.values())),
            "raw_bars_checked": dg.MetadataValue.int(len(raw)),
            "rejected_bars": dg.MetadataValue.int(int(raw_failures["index"].nunique()) if len(raw_failures) else 0),
            "invalid_stored_rows": dg.MetadataValue.int(len(stored_failures)),
            "held_back_tickers": dg.MetadataValue.md(
                pd.DataFrame({"ticker": list(held), "reason": list(held.values())}).to_markdown(index=False)
                if held else "_none_"),
            "rejected_files": _listed(files[["ticker", "date", "rule", "value", "detail"]]
                                      if len(files) else pd.DataFrame()),
            "rejected_by_ticker": _listed(per_ticker),
            "failures": _listed(table.assign(date=table["date"].dt.date) if len(table) else table),
            **check_state.metadata(state),
        },
    )


@dg.asset_check(
    asset="validated_bars",
    blocking=False,
    description="Great Expectations suite for every registered ticker: the same hard rules plus distribution checks "
    "(extreme returns, stale prices, runs of zero volume) on the validated bars; each run judges its own partitions "
    "and keeps what earlier runs found failing elsewhere. Failures are WARN: they never block.",
)
def bars_suite_great_expectations(context: dg.AssetCheckExecutionContext, lake: LakeResource,
                                  market: MarketResource) -> dg.AssetCheckResult:
    """The Great Expectations suite over the run's validated bars and their context."""
    from financial_assets.validation.gx_suite import run_gx_suite  # Great Expectations takes a second to import

    wanted = dates_by_ticker(context.op_execution_context.partition_keys)
    rows, own = _run_rows(lake, "validated_bars", wanted, CONTEXT_BARS, market.sessions())
    outcomes = run_gx_suite(rows, own) if len(rows) else []
    failed = [o for o in outcomes if not o.success]
    table = pd.DataFrame([{"expectation": o.expectation, "column": o.column, "unexpected": o.unexpected_count,
                           "sample": ", ".join(o.sample)} for o in failed])
    found = pd.DataFrame([(t, d, o.expectation, o.column, "") for o in failed for t, d in o.failing],
                         columns=check_state.COLUMNS)
    state = _state(context, "bars_suite_great_expectations", wanted, found)
    return dg.AssetCheckResult(
        passed=state.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "expectations": dg.MetadataValue.int(len(outcomes)),
            "failed_expectations": dg.MetadataValue.int(len(failed)),
            "rows_checked": dg.MetadataValue.int(int(own.sum()) if len(own) else 0),
            "failures": _listed(table),
            **check_state.metadata(state),
        },
    )
