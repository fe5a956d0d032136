"""Labels: forward-looking by definition, each row carrying `t1`, the date its information ends.

Input is ONE ticker's bars sorted by `date` (strictly increasing), with split-adjusted
`open, high, low, close`. "h bars ahead" means h rows ahead: missing sessions are absent rows.
Labels carry no transaction costs; those belong to backtests.

Fixed horizon, for each h in `horizons` (default HORIZONS):

* ``fwd_ret_h`` = log(close[t+h] / close[t]);
* ``dir_h`` = 1.0 if fwd_ret_h > 0 else 0.0: "up" means strictly up, a return of exactly 0 is 0.0;
* ``t1_h`` = date of bar t+h.

Triple barrier (`TripleBarrierConfig`): vol_t is the sample standard deviation (ddof=1) of the
`vol_window` close-to-close log returns ending at t, i.e. of closes t-vol_window .. t (past data
only; the first `vol_window` rows have none). Upper barrier close_t * exp(k_up * vol_t), lower
close_t * exp(-k_down * vol_t), vertical barrier at bar t+horizon. Bar j in (t, t+horizon] touches
the upper barrier when high_j >= upper and the lower when low_j <= lower; the first bar touching
either is the exit bar.

* ``tb_label`` +1.0 (upper first) / -1.0 (lower first). On timeout (no touch up to t+horizon) the
  sign of log(close[t+h] / close[t]), a return of exactly 0 counting as -1.0.
* ``tb_ret`` log return from close_t to the exit price: the barrier price, or the bar's open when
  the bar opened beyond that barrier (a gap: the open is the price one could actually get); on
  timeout log(close[t+h] / close[t]).
* ``tb_t1`` date of the exit bar (bar t+h on timeout).
* ``tb_timeout`` 1.0 if the vertical barrier came first, else 0.0.
* ``tb_ambiguous`` 1.0 if the exit bar touched both barriers, else 0.0.

Both barriers in one bar: the intrabar order is unknown. If the bar's open already lies beyond one
barrier (a gap), that barrier counts as first; otherwise the LOWER barrier counts as first, the
conservative choice for a long position. Either way ``tb_ambiguous`` is 1.

Nulls, never filled: every fixed-horizon column is NaN/NaT when t+h is past the last bar; every
``tb_*`` column is NaN/NaT when t+horizon is past the last bar (even if a barrier was touched
earlier, so a stored label never changes as later bars arrive) or while vol_t is undefined.

``t1`` is the latest of the row's defined end times (t1_h for each h and tb_t1): the purge time
for cross-validation splitters. It is NaT only when every label in the row is null.

Everything is vectorised over rows with numpy; values at a row are computed from that row's own
inputs only, in a fixed order, so they are bit-for-bit independent of unrelated bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from financial_assets.core.errors import BarDataError

HORIZONS: tuple[int, ...] = (1, 5, 20)
TB_COLUMNS: tuple[str, ...] = ("tb_label", "tb_ret", "tb_t1", "tb_timeout", "tb_ambiguous")
_NAT = np.datetime64("NaT", "ns")


@dataclass(frozen=True)
class TripleBarrierConfig:
    """Triple-barrier parameters; barriers are multiples of the past volatility in log-price space."""

    k_up: float = 2.0  # upper barrier at close_t * exp(+k_up * vol_t)
    k_down: float = 2.0  # lower barrier at close_t * exp(-k_down * vol_t)
    horizon: int = 10  # vertical barrier: `horizon` bars after t
    vol_window: int = 20  # vol_t from the `vol_window` log returns ending at t

    def __post_init__(self) -> None:
        if not (self.k_up > 0 and self.k_down > 0):
            raise ValueError(f"k_up and k_down must be positive, got {self.k_up}, {self.k_down}")
        if int(self.horizon) != self.horizon or self.horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {self.horizon}")
        if int(self.vol_window) != self.vol_window or self.vol_window < 2:
            raise ValueError(f"vol_window must be an integer >= 2 (sample std), got {self.vol_window}")


def label_columns(horizons: Sequence[int] = HORIZONS) -> tuple[str, ...]:
    """The value columns `compute_labels(bars, horizons)` returns after `date`, in order."""
    fixed = tuple(f"{name}_{h}" for h in horizons for name in ("fwd_ret", "dir", "t1"))
    return (*fixed, *TB_COLUMNS, "t1")


#: Every value column of `compute_labels` with the default HORIZONS (excluding `date`).
LABEL_COLUMNS: tuple[str, ...] = label_columns(HORIZONS)


def _check_bars(bars: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The bars' dates as datetime64[ns]; raises BarDataError on input these labels cannot honour."""
    ticker = str(bars["ticker"].iloc[0]) if "ticker" in bars.columns and len(bars) else None
    missing = [c for c in ("date", *columns) if c not in bars.columns]
    if missing:
        raise BarDataError("labels_columns", f"missing columns {missing}", ticker)
    dates = bars["date"].to_numpy(dtype="datetime64[ns]")
    if len(dates) > 1 and not (dates[1:] > dates[:-1]).all():
        bad = int(np.argmin(dates[1:] > dates[:-1])) + 1
        raise BarDataError("labels_sorted", "dates must be strictly increasing", ticker, dates[bad])
    for column in columns:
        values = bars[column].to_numpy(dtype=float)
        if not (np.isfinite(values) & (values > 0)).all():
            bad = int(np.argmin(np.isfinite(values) & (values > 0)))
            raise BarDataError("labels_prices", f"{column} must be finite and positive", ticker, dates[bad])
    return dates


def _check_horizons(horizons: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(h) for h in horizons)
    if any(h < 1 or h != raw for h, raw in zip(out, horizons, strict=True)) or len(set(out)) != len(out):
        raise ValueError(f"horizons must be distinct integers >= 1, got {tuple(horizons)}")
    return out


def fixed_horizon_labels(bars: pd.DataFrame, horizons: Sequence[int] = HORIZONS) -> pd.DataFrame:
    """`date` and fwd_ret_h, dir_h, t1_h for each horizon h (null where t+h is past the last bar).

    Needs only `date` and `close`. The result has a fresh RangeIndex, one row per bar.
    """
    dates = _check_bars(bars, ("close",))
    return pd.DataFrame({"date": dates, **_fixed_arrays(dates, bars["close"].to_numpy(dtype=float), horizons)})


def _fixed_arrays(dates: np.ndarray, close: np.ndarray, horizons: Sequence[int]) -> dict[str, np.ndarray]:
    n = len(close)
    columns: dict[str, np.ndarray] = {}
    for h in _check_horizons(horizons):
        ret = np.full(n, np.nan)
        end = np.full(n, _NAT)
        if n > h:
            ret[: n - h] = np.log(close[h:] / close[: n - h])
            end[: n - h] = dates[h:]
        columns[f"fwd_ret_{h}"] = ret
        columns[f"dir_{h}"] = np.where(np.isnan(ret), np.nan, (ret > 0).astype(float))
        columns[f"t1_{h}"] = end
    return columns


def past_volatility(close: np.ndarray, window: int) -> np.ndarray:
    """vol_t: sample std (ddof=1) of the `window` log returns ending at t; NaN for the first `window` rows.

    Deliberately not pandas' rolling std: that keeps running sums, so its value at t drifts in the
    last bits with bars long before the window. Here a loop over the window's offsets (not over
    rows) sums each row's own returns in a fixed order: two-pass mean then squared deviations.
    """
    n = len(close)
    vol = np.full(n, np.nan)
    m = n - window  # rows window .. n-1 have a full window
    if m <= 0:
        return vol
    returns = np.log(close[1:] / close[:-1])  # returns[i] is the return ending at row i + 1
    mean = np.zeros(m)
    for k in range(window):
        mean += returns[k : k + m]
    mean /= window
    sq = np.zeros(m)
    for k in range(window):
        sq += (returns[k : k + m] - mean) ** 2
    vol[window:] = np.sqrt(sq / (window - 1))
    return vol


def triple_barrier_labels(bars: pd.DataFrame, config: TripleBarrierConfig = TripleBarrierConfig()) -> pd.DataFrame:
    """`date` and the tb_* columns for every bar (null past the end and during the vol warm-up)."""
    dates = _check_bars(bars, ("open", "high", "low", "close"))
    return pd.DataFrame({"date": dates, **_barrier_arrays(dates, bars, config)})


def _barrier_arrays(dates: np.ndarray, bars: pd.DataFrame, config: TripleBarrierConfig) -> dict[str, np.ndarray]:
    o, hi, lo, c = (bars[col].to_numpy(dtype=float) for col in ("open", "high", "low", "close"))
    h, n = int(config.horizon), len(c)
    label, ret, timeout, ambiguous = (np.full(n, np.nan) for _ in range(4))
    exit_date = np.full(n, _NAT)
    m = n - h  # rows 0 .. m-1 have their vertical barrier inside the data
    if m > 0:
        vol = past_volatility(c, int(config.vol_window))[:m]
        base = c[:m]
        upper = base * np.exp(config.k_up * vol)
        lower = base * np.exp(-config.k_down * vol)
        # window row t holds bars t+1 .. t+h (shape m x h); NaN barriers compare False everywhere
        up_hit = sliding_window_view(hi[1:], h) >= upper[:, None]
        dn_hit = sliding_window_view(lo[1:], h) <= lower[:, None]
        hit = up_hit | dn_hit
        touched = hit.any(axis=1)
        step = np.where(touched, hit.argmax(axis=1), h - 1)  # exit bar is t + 1 + step
        rows = np.arange(m)
        up_at = touched & up_hit[rows, step]
        dn_at = touched & dn_hit[rows, step]
        open_at = o[1:][rows + step]
        gap_up, gap_dn = open_at >= upper, open_at <= lower
        # one barrier only: that one. Both: the one gapped through, else the lower one.
        is_up = up_at & (~dn_at | (gap_up & ~gap_dn))
        is_dn = dn_at & ~is_up
        horizon_ret = np.log(c[h:] / base)
        # a barrier exit returns exactly +-k * vol; a gap exits at the open
        up_ret = np.where(gap_up, np.log(open_at / base), config.k_up * vol)
        dn_ret = np.where(gap_dn, np.log(open_at / base), -config.k_down * vol)
        valid = ~np.isnan(vol)
        label[:m] = np.where(valid, np.where(is_up, 1.0, np.where(is_dn, -1.0, np.where(horizon_ret > 0, 1.0, -1.0))),
                             np.nan)
        ret[:m] = np.where(valid, np.where(is_up, up_ret, np.where(is_dn, dn_ret, horizon_ret)), np.nan)
        timeout[:m] = np.where(valid, (~touched).astype(float), np.nan)
        ambiguous[:m] = np.where(valid, (up_at & dn_at).astype(float), np.nan)
        exit_date[:m] = np.where(valid, dates[1:][rows + step], _NAT)
    return {"tb_label": label, "tb_ret": ret, "tb_t1": exit_date, "tb_timeout": timeout, "tb_ambiguous": ambiguous}


def compute_labels(
    bars: pd.DataFrame, horizons: Sequence[int] = HORIZONS, config: TripleBarrierConfig = TripleBarrierConfig()
) -> pd.DataFrame:
    """All labels of one ticker's bars: `date`, then `label_columns(horizons)` (LABEL_COLUMNS by default).

    `t1` is the latest defined end time of the row's labels. The result has a fresh RangeIndex.
    """
    horizons = _check_horizons(horizons)
    dates = _check_bars(bars, ("open", "high", "low", "close"))
    columns = {"date": dates, **_fixed_arrays(dates, bars["close"].to_numpy(dtype=float), horizons),
               **_barrier_arrays(dates, bars, config)}
    ends = [columns[f"t1_{h}"] for h in horizons] + [columns["tb_t1"]]
    columns["t1"] = np.fmax.reduce(ends)  # fmax skips NaT unless every end is NaT
    return pd.DataFrame(columns)
