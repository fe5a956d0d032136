"""The backtest settings: timing, mode, sizing, costs and stops, in one frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Fill = Literal["next_open", "next_close"]
Mode = Literal["long_flat", "long_short"]
Sizing = Literal["fixed", "vol_target", "kelly"]


@dataclass(frozen=True)
class BacktestConfig:
    """How probabilities become orders and what the orders cost; every default is documented inline."""

    # timing: the signal is known at bar t's close and fills at bar t+1's open or close
    fill: Fill = "next_open"
    # entry rule on the model's edge over its base rate, edge = p - base rate (both known at the close):
    # long_flat: long when edge > threshold, else flat; long_short: also short when edge < -threshold.
    # A probability within threshold of the base rate (a model at chance) holds nothing.
    mode: Mode = "long_flat"
    threshold: float = 0.02
    # fixed: |weight| = fraction; vol_target: target_vol / realised vol, capped at max_leverage;
    # kelly: kelly_fraction * |2p - 1| (the Kelly bet of an even-money wager), capped at max_leverage
    sizing: Sizing = "fixed"
    fraction: float = 1.0
    target_vol: float = 0.10  # annualised
    vol_window: int = 20  # close-to-close returns ending at t, sample std (ddof=1)
    kelly_fraction: float = 0.5
    max_leverage: float = 1.0
    # True: weights apply to current equity; False: to initial_capital (fixed notional, no compounding)
    compound: bool = True
    # False: no buy takes cash below zero at its fill price plus costs; a larger one is shrunk to what the
    # cash pays for (vectorbt's allow_partial); True: cash may go negative (interest-free margin)
    borrow: bool = False
    initial_capital: float = 100_000.0
    # costs, per side, on every fill: commission on traded value; slippage moves the fill price
    # against the order by half_spread_bps plus impact * |shares| / the fill bar's volume
    commission_bps: float = 1.0
    half_spread_bps: float = 2.0
    impact: float = 0.1
    # exits as fractions of the entry fill price, checked against each bar's open, high and low
    stop_loss: float | None = None
    take_profit: float | None = None
    bars_per_year: int = 252

    def __post_init__(self) -> None:
        if self.fill not in ("next_open", "next_close"):
            raise ValueError(f"fill must be 'next_open' or 'next_close', got {self.fill!r}")
        if self.mode not in ("long_flat", "long_short"):
            raise ValueError(f"mode must be 'long_flat' or 'long_short', got {self.mode!r}")
        if self.sizing not in ("fixed", "vol_target", "kelly"):
            raise ValueError(f"sizing must be 'fixed', 'vol_target' or 'kelly', got {self.sizing!r}")
        if not (math.isfinite(self.threshold) and 0.0 <= self.threshold < 1.0):
            raise ValueError(f"threshold (on p - base rate) must lie in [0, 1), got {self.threshold}")
        positive = {"fraction": self.fraction, "target_vol": self.target_vol, "kelly_fraction": self.kelly_fraction,
                    "max_leverage": self.max_leverage, "initial_capital": self.initial_capital}
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and positive, got {value}")
        for name, value in {"commission_bps": self.commission_bps, "half_spread_bps": self.half_spread_bps,
                            "impact": self.impact}.items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        for name, level in {"stop_loss": self.stop_loss, "take_profit": self.take_profit}.items():
            if level is not None and not (math.isfinite(level) and level > 0):
                raise ValueError(f"{name} must be None or a positive fraction, got {level}")
        if self.stop_loss is not None and self.stop_loss >= 1:
            raise ValueError(f"stop_loss must be below 1 (a 100% loss), got {self.stop_loss}")
        if int(self.vol_window) != self.vol_window or self.vol_window < 2:
            raise ValueError(f"vol_window must be an integer >= 2 (sample std), got {self.vol_window}")
        if int(self.bars_per_year) != self.bars_per_year or self.bars_per_year < 1:
            raise ValueError(f"bars_per_year must be a positive integer, got {self.bars_per_year}")
