"""Probabilities and base rates to signals and target weights, vectorised; every value at t uses data up to t only."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from financial_assets.backtest.config import BacktestConfig

#: an edge within this of the threshold is none: a probability equal to its base rate up to float rounding (a
#: mean of equal numbers can miss them by 1e-16) never trades, even at threshold 0
TIE = 1e-9


def signals(probability: np.ndarray, base_rate: np.ndarray, config: BacktestConfig) -> np.ndarray:
    """+1 when p - base rate > threshold, -1 when it is < -threshold (long_short only), 0 otherwise and on NaN."""
    edge = probability - base_rate
    signal = np.where(edge > config.threshold + TIE, 1.0, 0.0)
    if config.mode == "long_short":
        signal[edge < -config.threshold - TIE] = -1.0
    return signal


def realised_vol(close: np.ndarray, window: int, bars_per_year: int) -> np.ndarray:
    """Annualised sample std of the `window` close-to-close returns ending at each bar; NaN before."""
    out = np.full(close.shape, np.nan)
    returns = close[1:] / close[:-1] - 1.0
    if returns.size >= window:
        out[window:] = sliding_window_view(returns, window).std(axis=1, ddof=1) * np.sqrt(bars_per_year)
    return out


def target_weights(probability: np.ndarray, signal: np.ndarray, close: np.ndarray,
                   config: BacktestConfig) -> np.ndarray:
    """Signed fraction of equity to hold after the next fill, decided at each bar's close from `signals`."""
    if config.sizing == "fixed":
        size = np.full(signal.shape, config.fraction)
    elif config.sizing == "vol_target":
        vol = realised_vol(close, config.vol_window, config.bars_per_year)
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.minimum(config.target_vol / vol, config.max_leverage)
        size[np.isnan(vol)] = 0.0  # no estimate yet: stay flat rather than guess
    else:  # kelly: the even-money Kelly bet 2p - 1 in the signal's direction, never against it
        edge = np.nan_to_num((2.0 * probability - 1.0) * signal)
        size = np.clip(config.kelly_fraction * edge, 0.0, config.max_leverage)
    return np.where(signal != 0.0, signal * size, 0.0)
