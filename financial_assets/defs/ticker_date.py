"""The ticker x date asset contract as code: one builder plans, guards, writes and reports every such asset.

A ticker x date step records its run's partitions as planned (`planned_partitions`), groups them by
ticker, checks that its upstream holds them, leaves held-back tickers out, replaces its partitions in
the lake and reports exactly the partitions it wrote, each with its own metadata (`report_partitions`;
a step that forgot it would succeed and never show as materialized). `ticker_date_asset` and
`ticker_date_multi_asset` do all of that around a body that only computes: the body gets the run's
partitions (`TickerDates`) and returns what it wrote (`Written`), so no asset can skip a step.
"""

import inspect
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from financial_assets.defs.holdback import tickers_going_on
from financial_assets.defs.metadata import partition_metadata, require_upstream
from financial_assets.defs.partitions import bar_key, bar_partitions, dates_by_ticker
from financial_assets.runs.internals import planned_partitions, report_partitions

PartitionMetadata = Mapping[str, Mapping[str, dg.MetadataValue]]
#: every such asset is computed in Python and stored as Parquet in the lake
KINDS = ("python", "parquet")
VALIDATED_BARS = "validated_bars"


@dataclass(frozen=True)
class TickerDates:
    """The run's partitions a body computes, {ticker: sorted dates}; held-back tickers are already left out."""

    context: dg.AssetExecutionContext
    wanted: dict[str, pd.DatetimeIndex]

    @property
    def tickers(self) -> list[str]:
        """The run's tickers, in order."""
        return list(self.wanted)

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Every date of the run, sorted."""
        return pd.DatetimeIndex(sorted(set().union(*self.wanted.values())))

    @property
    def last(self) -> pd.Timestamp:
        """The run's last date."""
        return max(d[-1] for d in self.wanted.values())


@dataclass(frozen=True)
class Written:
    """What a body wrote to one asset: its rows, the lake partitions they replace, the partitions that count as
    materialized and their metadata beside the row count (which the builder counts from `frame`)."""

    frame: pd.DataFrame
    scope: Mapping[str, Collection[pd.Timestamp]] | None = None  # None: the run's partitions
    reported: Mapping[str, Collection[pd.Timestamp]] | None = None  # None: the scope
    metadata: PartitionMetadata = field(default_factory=dict)

    @classmethod
    def per_metadata(cls, frame: pd.DataFrame, scope: Mapping[str, Collection[pd.Timestamp]],
                     metadata: PartitionMetadata) -> "Written":
        """Rows that replace `scope`, reporting exactly the partitions `metadata` describes (those with a result)."""
        return cls(frame, scope, dates_by_ticker(list(metadata)) if metadata else {}, metadata)


#: a body: the run's partitions and the resources it names -> what it wrote (one asset), or {asset: Written}
Body = Callable[..., "Written | Mapping[str, Written]"]


def _resource_keys(body: Body) -> list[str]:
    """The resources a body names: every parameter after the first (the run's partitions)."""
    return list(inspect.signature(body).parameters)[1:]


def _run(context: dg.AssetExecutionContext, name: str, on_validated_bars: bool) -> TickerDates:
    """Plan the run's partitions; on validated bars, check they hold them and leave out held-back tickers (logged)."""
    wanted = dates_by_ticker(planned_partitions(context))
    if on_validated_bars:
        require_upstream(context, VALIDATED_BARS, wanted)
        wanted, held = tickers_going_on(context.resources.lake, context.resources.market, wanted)
        for ticker, reason in held.items():
            context.log.warning(f"{name}: {ticker} held back: {reason}")
    return TickerDates(context, wanted)


def _store(context: dg.AssetExecutionContext, name: str, written: Written, run: TickerDates,
           report: bool = True) -> None:
    """Replace the asset's partitions in the lake, then report the partitions it wrote with their metadata."""
    scope = run.wanted if written.scope is None else written.scope
    reported = scope if written.reported is None else written.reported
    replaced = {t: set(dates) for t, dates in scope.items()}
    outside = [bar_key(d, t) for t, dates in reported.items() for d in dates if d not in replaced.get(t, ())]
    if outside:
        raise ValueError(f"{name}: would report partitions it does not write, e.g. {outside[:3]}")
    context.resources.lake.write(name, written.frame, dict(scope))
    if report:
        report_partitions(context, name, partition_metadata(written.frame, reported, written.metadata))


def _call(body: Body, context: dg.AssetExecutionContext, run: TickerDates) -> "Written | Mapping[str, Written]":
    return body(run, **{key: getattr(context.resources, key) for key in _resource_keys(body)})


def _needs(body: Body, on_validated_bars: bool) -> set[str]:
    """The resource keys of a step: the lake it writes, the resources its body names, the market of the hold-back."""
    return {"lake", *_resource_keys(body), *(["market"] if on_validated_bars else [])}


def ticker_date_asset(*, group: str, description: str, deps: Sequence[str | dg.AssetDep] = (),
                      kinds: Collection[str] = (), metadata: Mapping[str, object] | None = None,
                      on_validated_bars: bool = False) -> Callable[[Body], dg.AssetsDefinition]:
    """A ticker x date asset named after its body, written to the lake table of its name (kinds python and parquet,
    plus `kinds`).

    `on_validated_bars`: the asset computes from validated_bars: it depends on them, every partition
    of the run must be there first, and tickers that validation held back are left out (and logged).
    The body takes the run's partitions and the resources it names, and returns a `Written`.
    """

    def build(body: Body) -> dg.AssetsDefinition:
        name = body.__name__

        @dg.asset(name=name, partitions_def=bar_partitions, backfill_policy=dg.BackfillPolicy.single_run(),
                  deps=[*([VALIDATED_BARS] if on_validated_bars else []), *deps], group_name=group,
                  kinds={*KINDS, *kinds}, description=description, metadata=metadata,
                  required_resource_keys=_needs(body, on_validated_bars))
        def _asset(context: dg.AssetExecutionContext) -> None:
            run = _run(context, name, on_validated_bars)
            _store(context, name, _call(body, context, run), run)

        return _asset

    return build


def ticker_date_multi_asset(*, specs: Sequence[dg.AssetSpec]) -> Callable[[Body], dg.AssetsDefinition]:
    """Ticker x date assets computed together by one body (its name is the step's) that returns {asset: Written}.

    Either may be selected alone; every asset is written whichever are selected, so the lake never
    holds one without the others, and the selected ones are reported.
    """
    names = [spec.key.to_user_string() for spec in specs]

    def build(body: Body) -> dg.AssetsDefinition:
        name = body.__name__

        @dg.multi_asset(name=name, specs=list(specs), partitions_def=bar_partitions,
                        backfill_policy=dg.BackfillPolicy.single_run(), can_subset=True,
                        required_resource_keys=_needs(body, False))
        def _assets(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
            run = _run(context, name, False)
            outputs = _call(body, context, run)
            if sorted(outputs) != sorted(names):
                raise ValueError(f"{name} returned {sorted(outputs)}, not its assets {sorted(names)}")
            selected = {key.to_user_string() for key in context.selected_asset_keys}
            for asset in names:
                _store(context, asset, outputs[asset], run, report=asset in selected)
            for asset in names:
                if asset in selected:
                    yield dg.MaterializeResult(asset_key=asset)

        return _assets

    return build
