"""The backtest family's resource: how predictions are traded (FA_BT_*), the thresholds PBO compares, and when PSR
and DSR are too thin to read."""

import dagster as dg

from financial_assets.backtest import BacktestConfig
from financial_assets.backtest.configurations import threshold_settings

#: BacktestConfig's numeric fields, each bound from FA_BT_<NAME>
_FLOATS = ("threshold", "fraction", "target_vol", "kelly_fraction", "max_leverage", "commission_bps",
           "half_spread_bps", "impact")
_STOPS = ("stop_loss", "take_profit")


class StrategyResource(dg.ConfigurableResource):
    """The strategy's fills, mode, edge threshold, sizing, cash rule, costs and stops. EnvVar binds a count to an `int`
    field and anything else as text, which `config` parses (`check_settings` when the code location loads)."""

    fill: str
    mode: str
    threshold: str
    sizing: str
    fraction: str
    target_vol: str
    vol_window: int
    kelly_fraction: str
    max_leverage: str
    borrow: str  # true | false
    commission_bps: str
    half_spread_bps: str
    impact: str
    stop_loss: str  # empty: no stop
    take_profit: str
    threshold_grid: str  # comma-separated edge thresholds
    pbo_blocks: int
    min_exposure: str
    min_trades: int

    def config(self) -> BacktestConfig:
        """The configured strategy, checked by BacktestConfig."""
        stops = {name: float(getattr(self, name)) if getattr(self, name).strip() else None for name in _STOPS}
        borrow = self.borrow.strip().lower()
        if borrow not in ("true", "false"):
            raise ValueError(f"FA_BT_BORROW must be true or false, got {self.borrow!r}")
        return BacktestConfig(fill=self.fill, mode=self.mode, sizing=self.sizing, vol_window=self.vol_window,
                              borrow=borrow == "true", **{name: float(getattr(self, name)) for name in _FLOATS},
                              **stops)

    def settings(self) -> list[BacktestConfig]:
        """The configured strategy first, then the grid's threshold settings: the configurations PBO compares."""
        return threshold_settings(self.config(), [float(u) for u in self.threshold_grid.split(",") if u.strip()])

    def max_blocks(self) -> int:
        """The most CSCV blocks PBO cuts the out-of-fold returns into."""
        return self.pbo_blocks

    def reliability(self) -> tuple[float, int]:
        """The exposure and the trades below which PSR and DSR are marked unreliable."""
        return float(self.min_exposure), self.min_trades

    def check_settings(self) -> None:
        """Every FA_BT_* setting parsed as a run parses it, and the strategy checked by BacktestConfig."""
        for name, read in (("FA_BT_* strategy", self.settings), ("FA_BT_MIN_EXPOSURE", self.reliability)):
            try:
                read()
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from error


@dg.definitions
def resources() -> dg.Definitions:
    """Binds the strategy resource, each field from FA_BT_<FIELD>."""
    fields = {name: (dg.EnvVar.int if field.annotation is int else dg.EnvVar)(f"FA_BT_{name.upper()}")
              for name, field in StrategyResource.model_fields.items()}
    return dg.Definitions(resources={"strategy": StrategyResource(**fields)})
