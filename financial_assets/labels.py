"""Labels: forward-looking by definition, each with the end time `t1` of the information it uses.

Fixed horizon, for h in HORIZONS: fwd_ret_h = log(close[t+h] / close[t]), dir_h = 1 if that is
strictly positive else 0, t1_h = date of bar t+h.

Triple barrier (TripleBarrierConfig): with vol_t the standard deviation (ddof=1) of the last
`vol_window` close-to-close log returns ending at t (past data only), the upper barrier is
close_t * exp(k_up * vol_t) and the lower close_t * exp(-k_down * vol_t); the vertical barrier is
bar t+horizon. Bars t+1..t+horizon touch the upper barrier when high >= upper and the lower when
low <= lower; the first touched gives +1 or -1. Rules:

* both barriers in one bar: the intrabar order is unknown. If the bar opened beyond a barrier
  (a gap), that barrier was first; otherwise the lower barrier counts as first (the conservative
  choice for a long position). `tb_ambiguous` is 1 for every bar that touched both.
* exit price: the barrier, or the open when the bar gapped through it (the price one could get).
* timeout (no barrier by t+horizon): the sign of log(close[t+h] / close[t]), a return of exactly 0
  counting as -1; `tb_timeout` is 1.

A label whose horizon runs past the last bar is null (NaN / NaT), never filled, even if a barrier
was touched earlier: so a stored label never changes as later bars arrive. Labels carry no
transaction costs; those belong to backtests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

HORIZONS: tuple[int, ...] = (1, 5, 20)


@dataclass(frozen=True)
class TripleBarrierConfig:
    k_up: float = 2.0
    k_down: float = 2.0
    horizon: int = 10
    vol_window: int = 20


def fixed_horizon_labels(bars: pd.DataFrame, horizons: Sequence[int] = HORIZONS) -> pd.DataFrame:
    """fwd_ret_h, dir_h and t1_h for each horizon h (null where t+h is past the last bar)."""
    close = bars["close"].to_numpy(dtype=float)
    dates = bars["date"].to_numpy()
    n = len(close)
    out = pd.DataFrame({"date": bars["date"].to_numpy()})
    for h in horizons:
        ret = np.full(n, np.nan)
        end = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        if n > h:
            ret[: n - h] = np.log(close[h:] / close[: n - h])
            end[: n - h] = dates[h:]
        out[f"fwd_ret_{h}"] = ret
        out[f"dir_{h}"] = np.where(np.isnan(ret), np.nan, (ret > 0).astype(float))
        out[f"t1_{h}"] = end
    return out


def _past_volatility(close: np.ndarray, window: int) -> np.ndarray:
    returns = pd.Series(np.log(close)).diff()
    return returns.rolling(window, min_periods=window).std(ddof=1).to_numpy()


def triple_barrier_labels(bars: pd.DataFrame, config: TripleBarrierConfig = TripleBarrierConfig()) -> pd.DataFrame:
    """tb_label, tb_ret, tb_t1, tb_timeout and tb_ambiguous for every bar (null where undefined)."""
    h = config.horizon
    o, hi, lo, c = (bars[col].to_numpy(dtype=float) for col in ("open", "high", "low", "close"))
    dates = bars["date"].to_numpy()
    n = len(c)
    label, ret = np.full(n, np.nan), np.full(n, np.nan)
    timeout, ambiguous = np.full(n, np.nan), np.full(n, np.nan)
    exit_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    m = n - h  # rows whose vertical barrier exists
    if m > 0:
        vol = _past_volatility(c, config.vol_window)[:m]
        upper = c[:m] * np.exp(config.k_up * vol)
        lower = c[:m] * np.exp(-config.k_down * vol)
        # row t of each window holds bars t+1 .. t+h
        win_o, win_h, win_l = (sliding_window_view(a[1:], h)[:m] for a in (o, hi, lo))
        up_hit = win_h >= upper[:, None]
        dn_hit = win_l <= lower[:, None]
        never = h  # index meaning "not touched"
        first_up = np.where(up_hit.any(axis=1), up_hit.argmax(axis=1), never)
        first_dn = np.where(dn_hit.any(axis=1), dn_hit.argmax(axis=1), never)
        first = np.minimum(first_up, first_dn)
        touched = first < never
        rows = np.arange(m)
        step = np.where(touched, first, h - 1)
        open_at = win_o[rows, step]
        both = touched & (first_up == first_dn)
        gap_up = open_at >= upper
        gap_dn = open_at <= lower
        is_up = touched & ((first_up < first_dn) | (both & gap_up & ~gap_dn))
        is_dn = touched & ~is_up
        up_price = np.where(gap_up, open_at, upper)
        dn_price = np.where(gap_dn, open_at, lower)
        horizon_ret = np.log(c[h:][:m] / c[:m])
        r = np.where(is_up, np.log(up_price / c[:m]), np.where(is_dn, np.log(dn_price / c[:m]), horizon_ret))
        lab = np.where(is_up, 1.0, np.where(is_dn, -1.0, np.where(horizon_ret > 0, 1.0, -1.0)))
        valid = ~np.isnan(vol)
        label[:m] = np.where(valid, lab, np.nan)
        ret[:m] = np.where(valid, r, np.nan)
        timeout[:m] = np.where(valid, (~touched).astype(float), np.nan)
        ambiguous[:m] = np.where(valid, both.astype(float), np.nan)
        exit_date[:m] = np.where(valid, dates[1:][rows + step], np.datetime64("NaT"))
    return pd.DataFrame({"date": bars["date"].to_numpy(), "tb_label": label, "tb_ret": ret, "tb_t1": exit_date,
                         "tb_timeout": timeout, "tb_ambiguous": ambiguous})


def compute_labels(
    bars: pd.DataFrame, horizons: Sequence[int] = HORIZONS, config: TripleBarrierConfig = TripleBarrierConfig()
) -> pd.DataFrame:
    """All labels of one ticker's bars (sorted by date), with `t1`: the latest end time in the row."""
    fixed = fixed_horizon_labels(bars, horizons)
    barrier = triple_barrier_labels(bars, config)
    out = pd.concat([fixed, barrier.drop(columns="date")], axis=1)
    ends = [f"t1_{h}" for h in horizons] + ["tb_t1"]
    out["t1"] = out[ends].max(axis=1)
    return out
