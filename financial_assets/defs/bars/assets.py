"""raw_bars, validated_bars and quarantined_bars: bars from the source into the validated lake."""


import dagster as dg
import pandas as pd

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.defs.history import keep_run_rows
from financial_assets.defs.metadata import frame_metadata
from financial_assets.defs.partitions import bar_partitions, dates_by_ticker
from financial_assets.defs.resources import BarSourceResource, LakeResource, MarketResource
from financial_assets.core.errors import BarDataError
from financial_assets.storage.revisions import archive, replaced_rows
from financial_assets.core.calendar import trading_sessions
from financial_assets.validation.rules import QUARANTINE_COLUMNS
from financial_assets.validation.triage import triage_bars

#: bars of history before a run's first date that validation reads (returns, stale and zero-volume runs)
CONTEXT_BARS = 10


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="bars",
    kinds={"python", "parquet"},
    description="Bars exactly as the source gave them (raw prices, source row order), one partition per ticker and "
    "trading date. A rerun whose source values changed keeps the old rows in raw_bar_revisions.",
)
def raw_bars(
    context: dg.AssetExecutionContext, lake: LakeResource, bar_source: BarSourceResource, market: MarketResource
) -> dg.MaterializeResult:
    wanted = dates_by_ticker(context.partition_keys)
    source = bar_source.source()
    sessions = trading_sessions(market.calendar, market.history_start)
    frames = []
    for ticker, dates in wanted.items():
        bars = source.load(ticker, dates.min().date(), dates.max().date())
        off_calendar = bars.loc[~bars["date"].isin(sessions)]
        if len(off_calendar):
            raise BarDataError(
                "trading_session",
                f"the source has a bar on a day the {market.calendar} calendar has no session",
                ticker=ticker, date=off_calendar["date"].iloc[0].date(),
            )
        frames.append(bars.loc[bars["date"].isin(dates)])
    frame = _concat(frames, RAW_COLUMNS)
    previous = lake.lake.read("raw_bars", list(wanted), start=min(d.min() for d in wanted.values()),
                              end=max(d.max() for d in wanted.values()))
    previous = keep_run_rows(previous, wanted) if len(previous) else previous
    revised = archive(lake.lake, replaced_rows(previous, frame), pd.Timestamp.now(tz="UTC"))
    lake.lake.write("raw_bars", frame, dict(wanted))
    context.log.info(f"raw_bars: {len(frame)} bars for {len(wanted)} tickers, {len(context.partition_keys)} partitions")
    meta = frame_metadata(frame, str(lake.lake.asset_dir("raw_bars")))
    meta["revised_bars"] = dg.MetadataValue.int(revised)
    return dg.MaterializeResult(metadata=meta)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "validated_bars", deps=[raw_bars], group_name="bars", kinds={"python", "parquet"},
            description="Bars that passed every ERROR rule, with split-adjusted prices (adj_*) beside the raw ones.",
        ),
        dg.AssetSpec(
            "quarantined_bars", deps=[raw_bars], group_name="bars", kinds={"python", "parquet"},
            description="One record per bar and broken rule: ticker, date, rule, severity, offending value. "
            "ERROR records were kept out of validated_bars; WARN records were kept in.",
        ),
    ],
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # either may be selected alone (`--select validated_bars`); both come from one triage and
    # both are written, so the lake never holds a validated bar without its quarantine records
    can_subset=True,
)
def validate_bars(context: dg.AssetExecutionContext, lake: LakeResource, market: MarketResource):
    wanted = dates_by_ticker(context.partition_keys)
    sessions = trading_sessions(market.calendar, market.history_start)
    validated, quarantined = [], []
    for ticker, dates in wanted.items():
        first = sessions.searchsorted(dates.min())
        context_start = sessions[max(first - CONTEXT_BARS, 0)]
        raw = lake.lake.read("raw_bars", [ticker], start=context_start, end=dates.max())
        if raw.empty:
            continue
        triage = triage_bars(raw, dates, sessions)
        validated.append(triage.validated)
        quarantined.append(triage.quarantine)
    good = _concat(validated, [])
    bad = _concat(quarantined, QUARANTINE_COLUMNS)
    lake.lake.write("validated_bars", good, dict(wanted))
    lake.lake.write("quarantined_bars", bad, dict(wanted))
    meta = frame_metadata(good, str(lake.lake.asset_dir("validated_bars")))
    if len(good):
        actions = good.loc[good["corporate_action"], ["ticker", "date", "close", "adj_factor"]]
        meta["corporate_actions"] = dg.MetadataValue.int(len(actions))
        if len(actions):
            meta["corporate_action_days"] = dg.MetadataValue.md(actions.to_markdown(index=False))
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    if "validated_bars" in selected:
        yield dg.MaterializeResult(asset_key="validated_bars", metadata=meta)
    qmeta = frame_metadata(bad, str(lake.lake.asset_dir("quarantined_bars")))
    if len(bad):
        qmeta["by_rule"] = dg.MetadataValue.md(
            bad.groupby(["rule", "severity"]).size().rename("records").reset_index().to_markdown(index=False)
        )
    if "quarantined_bars" in selected:
        yield dg.MaterializeResult(asset_key="quarantined_bars", metadata=qmeta)
