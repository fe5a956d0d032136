"""The project's resources, each setting bound once from its FA_* variable; runs and the command line share them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.sources import BarSource, make_source
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


class LakeResource(dg.ConfigurableResource):
    """Storage under `data_dir`: the partitioned Parquet lake and the artefact store beside it."""

    data_dir: str

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def parquet(self) -> ParquetLake:
        """The Parquet lake itself, for readers that need its files (the SQL engine)."""
        return ParquetLake(self.root / "lake")

    @property
    def artifacts(self) -> ArtifactStore:
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
        names = [t for t in self.tickers.split(",") if t.strip()]
        return make_source(self.kind, folder=self.folder, tickers=names, seed=self.seed, n_synthetic=self.n_synthetic,
                           calendar_code=self.market.calendar, start=self.market.history_start, intraday=self.intraday)

    def benchmark(self, universe: Collection[str]) -> str:
        """The market ticker of the cross-asset features; an error when it is not in `universe`."""
        named = self.market.benchmark_ticker.strip().upper()
        chosen = named or getattr(self.source(), "default_benchmark", None)
        if not chosen:
            raise BarDataError("benchmark_in_universe", f"the {self.kind} source has no default benchmark: set "
                               f"FA_BENCHMARK_TICKER to one of {sorted(universe)}", ticker="")
        if chosen not in universe:
            raise BarDataError("benchmark_in_universe", f"benchmark {chosen} is not in the universe {sorted(universe)}: "
                               "its corr_bench_60 and beta_bench_60 would be null everywhere; set FA_BENCHMARK_TICKER "
                               "to one of them", ticker=chosen)
        return chosen


def _bind() -> dict[str, dg.ConfigurableResource]:
    market = MarketResource(
        calendar=dg.EnvVar("FA_CALENDAR"),
        history_start=dg.EnvVar("FA_HISTORY_START"),
        benchmark_ticker=dg.EnvVar("FA_BENCHMARK_TICKER"),
        features=dg.EnvVar("FA_FEATURES"),
        rejected_share_limit=dg.EnvVar("FA_MAX_REJECTED_SHARE"),
    )
    return {
        "market": market,
        "lake": LakeResource(data_dir=dg.EnvVar("FA_DATA_DIR")),
        "bar_source": BarSourceResource(
            kind=dg.EnvVar("FA_SOURCE"),
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


@dg.definitions
def resources() -> dg.Definitions:
    """Binds the shared resources once for every asset, check, sensor and schedule of the defs folder."""
    return dg.Definitions(resources=RESOURCES)
