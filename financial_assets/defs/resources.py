"""Resources: where the lake lives and where bars come from, configured through environment variables."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from financial_assets.storage.lake import ParquetLake
from financial_assets.settings import env
from financial_assets.sources import BarSource, make_source


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake under `data_dir`/lake."""

    data_dir: str

    @property
    def lake(self) -> ParquetLake:
        return ParquetLake(Path(self.data_dir).resolve() / "lake")


class BarSourceResource(dg.ConfigurableResource):
    """Where raw bars come from: embedded | folder | yfinance | synthetic."""

    kind: str
    folder: str
    tickers: str
    seed: int
    n_synthetic: int
    calendar: str
    history_start: str

    def source(self) -> BarSource:
        names = [t for t in self.tickers.split(",") if t.strip()]
        return make_source(
            self.kind, folder=self.folder, tickers=names, seed=self.seed, n_synthetic=self.n_synthetic,
            calendar_code=self.calendar, start=self.history_start,
        )


class MarketResource(dg.ConfigurableResource):
    """Market conventions shared by assets: calendar, history start, benchmark and feature set."""

    calendar: str
    history_start: str
    benchmark_ticker: str
    features: str

    def feature_names(self) -> list[str] | None:
        names = [n.strip() for n in self.features.split(",") if n.strip()]
        return names or None


def resources_from_env() -> dict[str, dg.ConfigurableResource]:
    """The project's resources, each field bound to its FA_* environment variable."""
    return {
        "lake": LakeResource(data_dir=dg.EnvVar("FA_DATA_DIR")),
        "bar_source": BarSourceResource(
            kind=dg.EnvVar("FA_SOURCE"),
            folder=dg.EnvVar("FA_SOURCE_DIR"),
            tickers=dg.EnvVar("FA_TICKERS"),
            seed=dg.EnvVar.int("FA_SYNTHETIC_SEED"),
            n_synthetic=dg.EnvVar.int("FA_SYNTHETIC_TICKERS"),
            calendar=dg.EnvVar("FA_CALENDAR"),
            history_start=dg.EnvVar("FA_HISTORY_START"),
        ),
        "market": MarketResource(
            calendar=dg.EnvVar("FA_CALENDAR"),
            history_start=dg.EnvVar("FA_HISTORY_START"),
            benchmark_ticker=dg.EnvVar("FA_BENCHMARK_TICKER"),
            features=dg.EnvVar("FA_FEATURES"),
        ),
    }


def bar_source_from_env() -> BarSource:
    """The configured source outside a Dagster run (command line, benchmarks), same settings."""
    return BarSourceResource(
        kind=env("FA_SOURCE"), folder=env("FA_SOURCE_DIR"), tickers=env("FA_TICKERS"),
        seed=int(env("FA_SYNTHETIC_SEED")), n_synthetic=int(env("FA_SYNTHETIC_TICKERS")),
        calendar=env("FA_CALENDAR"), history_start=env("FA_HISTORY_START"),
    ).source()
