"""raw_bars, validated_bars and quarantined_bars: bars from the source into the validated lake.

One bad ticker never stops the others: a file that cannot be read is a quarantine record for its
ticker, a bar on a day without a session is a quarantine record, and a ticker whose rejections in
the run pass `FA_MAX_REJECTED_SHARE` is held back from downstream assets while the rest go on.
Nothing is rejected silently: each ticker with new rejections gets a data-quality alert (`alerts.py`).
"""

import dagster as dg
import pandas as pd

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.calendar import trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.core.frames import concat
from financial_assets.defs.bars.alerts import new_rejections, send_rejection_alerts, stored_rows
from financial_assets.defs.history import WARMUP_ASSET, keep_run_rows
from financial_assets.defs.operations.resources import AlertsResource
from financial_assets.defs.partitions import bar_key
from financial_assets.defs.resources import BarSourceResource, LakeResource, MarketResource
from financial_assets.defs.ticker_date import TickerDates, Written, ticker_date_asset, ticker_date_multi_asset
from financial_assets.features import FEATURE_REGISTRY, resolve_feature_names
from financial_assets.sources import INTRADAY_COLUMNS, load_standardized
from financial_assets.storage.revisions import archive, replaced_rows
from financial_assets.validation.rejections import file_rejection, held_back, off_calendar
from financial_assets.validation.rules import FILE_RULES, QUARANTINE_COLUMNS
from financial_assets.validation.triage import triage_bars

#: bars of history before a run's first date that validation reads (returns, stale and zero-volume runs)
CONTEXT_BARS = 10
#: raw bars before the first partition date, kept for indicator warm-up (never partitions)
RAW_WARMUP_ASSET = "raw_warmup_bars"
#: intraday rows exactly as given, for files with times of day (the daily bars are built from them)
RAW_INTRADAY_ASSET = "raw_intraday_bars"
#: rejections found while reading the source (files, off-calendar bars), for validate_bars to quarantine
SOURCE_REJECTIONS_ASSET = "source_rejections"
#: the earliest date a calendar is asked for when looking for warm-up sessions
_EARLIEST = "1990-01-02"


def warmup_sessions(market: MarketResource, feature_names: list[str] | None) -> pd.DatetimeIndex:
    """Sessions before the first partition whose bars warm up the longest configured indicator.

    Twice the longest lookback: enough for every window to be full and for recursive indicators
    (EMA, RSI) to forget their seed.
    """
    longest = max(FEATURE_REGISTRY[n].lookback for n in resolve_feature_names(feature_names))
    before = trading_sessions(market.calendar, _EARLIEST,
                              (pd.Timestamp(market.history_start) - pd.Timedelta(days=1)).date().isoformat())
    return before[-2 * longest:] if longest else before[:0]


def _source_file(source: object, ticker: str) -> str:
    """The file a folder source reads for `ticker`, else the source's name (for rejection records)."""
    try:
        return source.path_of(ticker).name  # type: ignore[attr-defined]
    except (AttributeError, BarDataError):
        return f"{getattr(source, 'name', 'source')}:{ticker}"


#: the values a bar's data version covers: not its row number, which moves when rows are added above it
_VERSIONED = ["date", "open", "high", "low", "close", "volume", "adj_close"]


def _data_versions(frame: pd.DataFrame, files: dict[str, str]) -> dict[str, dict[str, dg.MetadataValue]]:
    """Per partition read: the file (or source) it came from and a hash of its bars' values, which changes exactly
    when the source's bars of that partition do (e.g. a new `dvc checkout` of the folder)."""
    if frame.empty:
        return {}
    rows = pd.util.hash_pandas_object(frame[_VERSIONED], index=False)
    # several rows of one key (duplicates) add up; uint64 sums wrap around, which a fingerprint may
    versions = rows.groupby([frame["ticker"], frame["date"]]).sum()
    return {bar_key(d, t): {"data_version": dg.MetadataValue.text(f"{int(v):016x}"),
                            "source": dg.MetadataValue.text(files[t])} for (t, d), v in versions.items()}


@ticker_date_asset(
    group="bars",
    description="Bars exactly as the source gave them (raw prices, source row order), one partition per ticker and "
    "trading date. A ticker whose file cannot be read is not materialized: its quarantine record, on the run's last "
    "date, names the rule, the date and the file. A rerun whose source values changed keeps the old rows in "
    "raw_bar_revisions. Each partition's metadata names its file and the data version of the bars read: a hash of "
    "their values.",
)
def raw_bars(run: TickerDates, lake: LakeResource, bar_source: BarSourceResource, market: MarketResource,
             alerts: AlertsResource) -> Written:
    """The source's bars of the run, its rejections and intraday rows, archiving the bars a rerun revises."""
    wanted = run.wanted
    source = bar_source.source()
    sessions = market.sessions()
    warmup = warmup_sessions(market, market.feature_names())
    frames, intraday, rejections, warmups, loaded = [], [], [], [], {}
    for ticker, dates in wanted.items():
        reads_warmup = dates[0] == sessions[0] and len(warmup) > 0
        try:
            bars = load_standardized(source, ticker, (warmup[0] if reads_warmup else dates[0]).date(), dates[-1].date())
        except BarDataError as err:
            run.context.log.error(f"{ticker}: {err} (file {_source_file(source, ticker)})")
            rejections.append(file_rejection(err, ticker, dates[-1], _source_file(source, ticker)))
            continue
        loaded[ticker] = dates
        daily = bars.daily
        on_sessions, off = off_calendar(daily.loc[daily["date"] >= dates[0]], sessions, market.calendar)
        frames.append(on_sessions.loc[on_sessions["date"].isin(dates)])
        rejections += [off, bars.outside_session[list(QUARANTINE_COLUMNS)]]
        intraday.append(bars.intraday.assign(date=bars.intraday["session"].fillna(
            bars.intraday["timestamp"].dt.tz_convert(None).dt.normalize())))
        if reads_warmup:
            warmups.append(daily.loc[daily["date"].isin(warmup)])
    frame = concat(frames, RAW_COLUMNS)
    previous = lake.read("raw_bars", list(loaded), start=min(d[0] for d in wanted.values()),
                         end=max(d[-1] for d in wanted.values())) if loaded else pd.DataFrame()
    previous = keep_run_rows(previous, loaded) if len(previous) else previous
    revised = archive(lake.parquet, replaced_rows(previous, frame), pd.Timestamp.now(tz="UTC"))
    found = concat(rejections, QUARANTINE_COLUMNS)
    rows = concat(intraday, [*INTRADAY_COLUMNS, "date"])
    if len(rows) or lake.parquet.files(RAW_INTRADAY_ASSET, list(wanted)):
        lake.write(RAW_INTRADAY_ASSET, rows, _with_dates(wanted, rows))
    # a rerun replaces the run's rejections: the scope is the run's dates plus the off-calendar days found
    scope = _with_dates(wanted, found)
    new = new_rejections(found, stored_rows(lake, SOURCE_REJECTIONS_ASSET, scope))
    lake.write(SOURCE_REJECTIONS_ASSET, found, scope)
    read = frame.groupby("ticker").size().to_dict() if len(frame) else {}
    send_rejection_alerts(run.context, alerts, new, held_back(found, read, market.max_rejected_share))
    if warmups:
        lake.write(RAW_WARMUP_ASSET, concat(warmups, RAW_COLUMNS),
                   {t: warmup for t in loaded if wanted[t][0] == sessions[0]})
    run.context.log.info(f"raw_bars: {len(frame)} bars of {len(loaded)}/{len(wanted)} tickers; {len(found)} "
                         f"rejections; {len(rows)} intraday rows; {revised} revised bars archived")
    files = {ticker: _source_file(source, ticker) for ticker in loaded}
    return Written(frame, scope=loaded, metadata=_data_versions(frame, files))


def _with_dates(wanted: dict[str, pd.DatetimeIndex], rows: pd.DataFrame) -> dict[str, set]:
    """A write scope: each ticker's run dates plus any other dates its `rows` carry (holidays, weekends)."""
    return {t: set(d) | set(rows.loc[rows["ticker"] == t, "date"]) for t, d in wanted.items()}


@ticker_date_multi_asset(
    specs=[
        dg.AssetSpec(
            "validated_bars", deps=[raw_bars], group_name="bars", kinds={"python", "parquet"},
            description="Bars that passed every ERROR rule, with split-adjusted prices beside the raw ones: adj_open, "
            "adj_high, adj_low, adj_close = raw price x adj_factor, where adj_factor = the source's adjusted close / "
            "close (1 without one), so splits and dividends do not look like crashes; adj_volume = volume / "
            "adj_factor. "
            "corporate_action marks a raw gap that the adjusted close explains.",
        ),
        dg.AssetSpec(
            "quarantined_bars", deps=[raw_bars], group_name="bars", kinds={"python", "parquet"},
            description="One record per rejected file, bar and broken rule: ticker, date, rule, severity, offending "
            "value. ERROR records were kept out of validated_bars; WARN records were kept in. Each ticker with new "
            "ERROR records gets a data_quality alert (FA_ALERT_SINKS).",
        ),
    ],
)
def validate_bars(run: TickerDates, lake: LakeResource, market: MarketResource,
                  alerts: AlertsResource) -> dict[str, Written]:
    """Both assets come from one triage and both are written, so the lake never holds a validated bar without its
    quarantine records; either may be selected alone (`--select validated_bars`)."""
    context, wanted = run.context, run.wanted
    sessions = market.sessions()
    rejected = lake.read_span(SOURCE_REJECTIONS_ASSET, wanted)
    unreadable = set(rejected.loc[rejected["rule"].isin(FILE_RULES), "ticker"]) if len(rejected) else set()
    validated, quarantined, warmups, raw_rows = [], [rejected], [], {}
    for ticker, dates in wanted.items():
        start = sessions[max(sessions.searchsorted(dates[0]) - CONTEXT_BARS, 0)]
        raw = lake.read("raw_bars", [ticker], start=start, end=dates[-1])
        raw_rows[ticker] = int(raw["date"].isin(dates).sum()) if len(raw) else 0
        if len(raw):
            triage = triage_bars(raw, dates, sessions)
            validated.append(triage.validated)
            quarantined.append(triage.quarantine)
        if dates[0] == sessions[0]:
            warmups.append(_validated_warmup(lake, ticker, warmup_sessions(market, market.feature_names())))
    good = concat(validated, [])
    bad = concat(quarantined, QUARANTINE_COLUMNS)
    held = held_back(bad, raw_rows, market.max_rejected_share)
    # raw_bars alerted the rejections it found (files, off-calendar bars); these are the bar rules'
    new = new_rejections(concat(quarantined[1:], QUARANTINE_COLUMNS),
                         stored_rows(lake, "quarantined_bars", _with_dates(wanted, bad)))
    send_rejection_alerts(context, alerts, new, held)
    warm = concat(warmups, [])
    if len(warm):
        lake.write(WARMUP_ASSET, warm, {t: set(g["date"]) for t, g in warm.groupby("ticker")})
    for ticker, reason in held.items():
        context.log.warning(f"{ticker} held back from downstream assets: {reason}")
    readable = {t: d for t, d in wanted.items() if t not in unreadable}
    return {"validated_bars": Written(good, reported=readable, metadata=_notes(bad, held, readable)),
            "quarantined_bars": Written(bad, scope=_with_dates(wanted, bad), reported=wanted)}


def _validated_warmup(lake: LakeResource, ticker: str, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """The ticker's warm-up bars that pass every ERROR rule, split-adjusted like validated_bars."""
    raw = lake.read(RAW_WARMUP_ASSET, [ticker])
    return triage_bars(raw, sessions, sessions).validated if len(raw) else raw


def _notes(quarantine: pd.DataFrame, held: dict[str, str],
           wanted: dict[str, pd.DatetimeIndex]) -> dict[str, dict[str, dg.MetadataValue]]:
    """Per-partition notes for validated_bars: the rules a day's bar broke, and a held-back ticker's reason."""
    notes: dict[str, dict[str, dg.MetadataValue]] = {}
    for (ticker, day), found in quarantine.groupby(["ticker", "date"]) if len(quarantine) else []:
        text = "; ".join(f"{r.severity} {r.rule} {r.column}={r.value}" for r in found.itertuples())
        notes[bar_key(day, ticker)] = {"quarantined": dg.MetadataValue.text(text)}
    for ticker, reason in held.items():
        for day in wanted.get(ticker, []):
            notes.setdefault(bar_key(day, ticker), {})["held_back"] = dg.MetadataValue.text(reason)
    return notes
