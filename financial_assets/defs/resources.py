"""The project's shared resources, each setting bound once from its FA_* variable; runs and the command line share them.

Their fields are run-time settings, read by `dg.EnvVar` when a run starts, except the load-time calendar, history
start and source, bound once from `LOAD` (`load_settings.py`) so that a run uses the partitions' own. Dagster 1.13
binds an EnvVar only to a `str` field (`dg.EnvVar.int` to an `int` one; a bool, float or Literal field refuses it),
so a field that holds a number or a choice as text has its check in the resource's `check_settings`, and
`check_run_settings` runs every check when the code location loads: a typo fails the load, not a step minutes into a
run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.defs.load_time import LOAD
from financial_assets.sources import INTRADAY_MODES, BarSource, make_source
from financial_assets.storage.artifacts import ArtifactStore
from financial_assets.storage.lake import ParquetLake


class MarketResource(dg.ConfigurableResource):
    """Market conventions every asset shares: calendar, history start, benchmark, feature set, hold-back rule."""

    calendar: str
    history_start: str
    benchmark_ticker: str
    features: str
    rejected_share_limit: str  # a fraction; EnvVar binds text, `max_rejected_share` parses it

    @property
    def max_rejected_share(self) -> float:
        """Above this share of rejected bars in a run, a ticker is held back from downstream assets."""
        return float(self.rejected_share_limit)

    def sessions(self, end: str | None = None) -> pd.DatetimeIndex:
        """Sessions of the calendar from the history start (to `end`, default the calendar's last)."""
        return trading_sessions(self.calendar, self.history_start, end)

    def feature_names(self) -> list[str] | None:
        """The configured feature set, or None for the registry's default set."""
        names = [n.strip() for n in self.features.split(",") if n.strip()]
        return names or None

    def check_settings(self) -> None:
        """FA_MAX_REJECTED_SHARE is a fraction and FA_FEATURES names registry features."""
        try:
            share = float(self.rejected_share_limit)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            raise ValueError(f"FA_MAX_REJECTED_SHARE must be a fraction from 0 to 1, got {self.rejected_share_limit!r}")
        from financial_assets.features import resolve_feature_names  # TA-Lib: the command line's checks skip it

        try:
            resolve_feature_names(self.feature_names())
        except ValueError as error:
            raise ValueError(f"FA_FEATURES: {error}") from error


class LakeResource(dg.ConfigurableResource):
    """Storage under `data_dir`: the partitioned Parquet lake and the artefact store beside it."""

    data_dir: str

    @property
    def root(self) -> Path:
        """`data_dir` as an absolute path."""
        return Path(self.data_dir).resolve()

    @property
    def parquet(self) -> ParquetLake:
        """The Parquet lake itself, for readers that need its files (the SQL engine)."""
        return ParquetLake(self.root / "lake")

    @property
    def artifacts(self) -> ArtifactStore:
        """The artefact store (reports, plots) beside the lake."""
        return ArtifactStore(self.root / "artifacts")

    def read(self, asset: str, tickers: Collection[str] | None = None, start: object = None, end: object = None,
             columns: list[str] | None = None) -> pd.DataFrame:
        """Rows of `asset` with start <= date <= end, sorted by ticker and date."""
        return self.parquet.read(asset, tickers, start=start, end=end, columns=columns)

    def read_span(self, asset: str, wanted: Mapping[str, pd.DatetimeIndex]) -> pd.DataFrame:
        """Rows of `asset` for a run's {ticker: dates}: its tickers, from its first date to its last."""
        return self.read(asset, list(wanted), start=min(d[0] for d in wanted.values()),
                         end=max(d[-1] for d in wanted.values()))

    def write(self, asset: str, frame: pd.DataFrame, scope: Mapping[str | None, Collection[object]]) -> None:
        """Replace exactly the partitions in `scope` ({ticker or None: dates}) of `asset` with `frame`."""
        self.parquet.write(asset, frame, scope)

    def store_artifact(self, asset: str, ticker: str, date: object, name: str, content: bytes | str) -> Path:
        """Store a non-tabular artefact of partition (ticker, date) of `asset`; return its path."""
        return self.artifacts.store(asset, ticker, date, name, content)

    def location(self, asset: str) -> str:
        """Where `asset` lives, for metadata."""
        return str(self.parquet.asset_dir(asset))


class BarSourceResource(dg.ConfigurableResource):
    """Where raw bars come from: embedded | folder | yfinance | synthetic."""

    kind: str
    folder: str
    tickers: str
    seed: int
    n_synthetic: int
    intraday: str
    market: MarketResource

    def source(self) -> BarSource:
        """The configured bar source, built from these settings."""
        names = [t for t in self.tickers.split(",") if t.strip()]
        return make_source(self.kind, folder=self.folder, tickers=names, seed=self.seed, n_synthetic=self.n_synthetic,
                           calendar_code=self.market.calendar, start=self.market.history_start, intraday=self.intraday)

    def check_settings(self) -> None:
        """FA_INTRADAY names a known choice (FA_SOURCE is checked at load; the source's own inputs when it is read)."""
        if self.intraday not in INTRADAY_MODES:
            raise ValueError(f"FA_INTRADAY must be one of {', '.join(INTRADAY_MODES)}, got {self.intraday!r}")

    def benchmark(self, universe: Collection[str]) -> str:
        """The market ticker of the cross-asset features; an error when it is not in `universe`."""
        named = self.market.benchmark_ticker.strip().upper()
        chosen = named or getattr(self.source(), "default_benchmark", None)
        if not chosen:
            raise BarDataError("benchmark_in_universe", f"the {self.kind} source has no default benchmark: set "
                               f"FA_BENCHMARK_TICKER to one of {sorted(universe)}", ticker="")
        if chosen not in universe:
            raise BarDataError("benchmark_in_universe",
                               f"benchmark {chosen} is not in the universe {sorted(universe)}: "
                               "its corr_bench_60 and beta_bench_60 would be null everywhere; set FA_BENCHMARK_TICKER "
                               "to one of them", ticker=chosen)
        return chosen


#: FA_DATA_DIR, bound once: the lake, the artefacts, MLflow's embedded store and the alert log all live under it
DATA_DIR = dg.EnvVar("FA_DATA_DIR")


def _bind() -> dict[str, dg.ConfigurableResource]:
    market = MarketResource(
        calendar=LOAD.calendar,  # load-time settings: the partitions are built from them
        history_start=LOAD.history_start,
        benchmark_ticker=dg.EnvVar("FA_BENCHMARK_TICKER"),
        features=dg.EnvVar("FA_FEATURES"),
        rejected_share_limit=dg.EnvVar("FA_MAX_REJECTED_SHARE"),
    )
    return {
        "market": market,
        "lake": LakeResource(data_dir=DATA_DIR),
        "bar_source": BarSourceResource(
            kind=LOAD.source,
            folder=dg.EnvVar("FA_SOURCE_DIR"),
            tickers=dg.EnvVar("FA_TICKERS"),
            seed=dg.EnvVar.int("FA_SYNTHETIC_SEED"),
            n_synthetic=dg.EnvVar.int("FA_SYNTHETIC_TICKERS"),
            intraday=dg.EnvVar("FA_INTRADAY"),
            market=market,
        ),
    }


#: every resource of the project, bound once; `definitions.py` hands these to Dagster
RESOURCES = _bind()


@contextmanager
def resolved_resources() -> Iterator[dict[str, dg.ConfigurableResource]]:
    """The same resources with their settings read now, for code outside a run (command line, benchmarks)."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(r.process_config_and_initialize_cm()) for name, r in RESOURCES.items()}


def check_run_settings(resources: Mapping[str, object]) -> None:
    """Read every resource's settings from the environment now and run its `check_settings`: a ValueError naming the
    setting when one is wrong."""
    for resource in resources.values():
        if not isinstance(resource, dg.ConfigurableResource):
            continue
        with resource.process_config_and_initialize_cm() as resolved:
            check = getattr(resolved, "check_settings", None)
            if check is not None:
                check()


@dg.definitions
def resources() -> dg.Definitions:
    """Binds the shared resources once for every asset, check, sensor and schedule of the defs folder."""
    return dg.Definitions(resources=RESOURCES)
