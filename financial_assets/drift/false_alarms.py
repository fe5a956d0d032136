"""Measured false-alarm and detection rates of the drift rule, on series whose answer is known.

    python -m financial_assets.drift.false_alarms [--seeds 100]

* **i.i.d. random walks**: the synthetic source with constant volatility and no drift (GARCH alpha =
  beta = 0, mu = 0). The reference is a champion's training rows: every feature row up to R rows
  after the first bar (R = 600 and 1,500, about 2.5 and 6 years); the current window is the 20 rows
  ending `GAPS` sessions later. Any warn or drift is a false alarm.
* **planted breaks**: the same walks with their volatility multiplied at the reference's end; the
  windows ending 25 and 65 sessions later should drift.
* **real series**: the embedded bars (AAPL, IBM, MSFT, GOOG, split-adjusted), a reference as of each
  year end 2002-2011 (as a champion trained then) and a current window at each month end of the next
  year. Real series have real breaks (2008), so the rates are given with and without the windows
  ending in 2008-2009.

The features are the default set without the cross-asset ones (computed in SQL over the universe)
and the calendar ones (never compared), each with its registry lookback as memory, as drift_report
compares them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from financial_assets.drift.calibration import values_needed
from financial_assets.drift.columns import calendar_features, feature_memory
from financial_assets.drift.config import DriftConfig
from financial_assets.drift.report import calibrate, score_drift
from financial_assets.features.compute import compute_features
from financial_assets.features.registry import DEFAULT_FEATURES, FEATURE_REGISTRY

WINDOW = 20
GAPS = (5, 25, 65, 125, 250)
BREAK_GAPS = (25, 65)
REAL_TICKERS = ("AAPL", "IBM", "MSFT", "GOOG")
#: labels end this many sessions after their date: a champion's last training row is this far before its as-of date
LABEL_HORIZON = 5
#: the shortest real reference measured: a champion needs about this much history to train at all
MIN_REFERENCE_ROWS = 500
FEATURES = [n for n in DEFAULT_FEATURES
            if FEATURE_REGISTRY[n].family != "cross_asset" and n not in calendar_features(DEFAULT_FEATURES)]


def adjusted_features(bars: pd.DataFrame) -> pd.DataFrame:
    """FEATURES of raw source bars, on split-adjusted prices as validated_bars holds them (warm-up rows NaN)."""
    factor = (bars["adj_close"] / bars["close"]).to_numpy()
    adjusted = pd.DataFrame({"date": bars["date"].to_numpy(), "open": bars["open"].to_numpy() * factor,
                             "high": bars["high"].to_numpy() * factor, "low": bars["low"].to_numpy() * factor,
                             "close": bars["adj_close"].to_numpy(), "volume": bars["volume"].to_numpy() / factor})
    return compute_features(adjusted, FEATURES)


def levels(features: pd.DataFrame, reference_rows: int, ends: Iterable[int], config: DriftConfig = DriftConfig()
           ) -> list[str]:
    """The level (drift, warn or ok) of the window of WINDOW rows ending before each row index in `ends`, against
    the first `reference_rows` rows; columns whose reference is too short for their memory are left out."""
    reference = features.iloc[:reference_rows]
    memory = feature_memory(FEATURES)
    columns = [c for c in FEATURES
               if reference[c].notna().sum() >= values_needed(WINDOW, memory[c], config.min_independent_windows)]
    calibration = calibrate(reference, columns, WINDOW, config, memory=memory)
    out = []
    for end in ends:
        result = score_drift(reference, features.iloc[end - WINDOW:end], columns, config, calibration=calibration)
        out.append("drift" if result.dataset_drift else "warn" if result.unusual_columns else "ok")
    return out


def random_walk_levels(seeds: Sequence[int], reference_rows: int, vol_shift: float | None = None,
                       gaps: Sequence[int] = GAPS) -> list[str]:
    """Levels of the windows ending `gaps` rows after the reference, on i.i.d. walks (a volatility break at its end)."""
    from financial_assets.sources import SyntheticSource

    out = []
    for seed in seeds:
        source = SyntheticSource(n_tickers=1, seed=seed, start="2000-01-03", end="2010-12-31", mu=0.0, alpha=0.0,
                                 beta=0.0)
        if vol_shift is not None:
            source = SyntheticSource(n_tickers=1, seed=seed, start="2000-01-03", end="2010-12-31", mu=0.0, alpha=0.0,
                                     beta=0.0, regime_shift=str(source.sessions[reference_rows].date()),
                                     shift_drift=1.0, shift_vol=vol_shift)
        features = adjusted_features(source.load("SYN000"))
        out += levels(features, reference_rows, [reference_rows + g for g in gaps])
    return out


def real_series_levels(tickers: Sequence[str] = REAL_TICKERS, years: Iterable[int] = range(2002, 2012)
                       ) -> pd.DataFrame:
    """Per ticker and as-of year end, the level of each month end of the next year: ticker, as_of, date, level."""
    from financial_assets.sources import EmbeddedSource

    rows = []
    for ticker in tickers:
        bars = EmbeddedSource().load(ticker)
        features, dates = adjusted_features(bars), pd.DatetimeIndex(bars["date"])
        for year in years:
            as_of = dates[dates.year == year].max()
            if pd.isna(as_of) or dates.get_loc(as_of) < MIN_REFERENCE_ROWS:
                continue
            later = pd.Series(dates[dates.year == year + 1])
            month_ends = later.groupby(later.dt.month).max()
            ends = [dates.get_loc(d) + 1 for d in month_ends]
            found = levels(features, dates.get_loc(as_of) + 1 - LABEL_HORIZON, ends)
            rows += [{"ticker": ticker, "as_of": as_of, "date": d, "level": v}
                     for d, v in zip(month_ends, found, strict=True)]
    return pd.DataFrame(rows)


def rates(found: Sequence[str]) -> dict[str, float]:
    """Share of windows at drift and at warn or drift, and how many windows."""
    found = np.asarray(found)
    return {"drift": float((found == "drift").mean()), "warn_or_drift": float((found != "ok").mean()),
            "windows": float(len(found))}


def main(argv: list[str] | None = None) -> None:
    """Print the false-alarm rates of the drift rule on random walks and the embedded series."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="random walks per setting")
    args = parser.parse_args(argv)
    seeds = range(args.seeds)
    table = {}
    for rows in (600, 1500):
        table[f"random walk, {rows}-row reference"] = rates(random_walk_levels(seeds, rows))
        for shift in (1.25, 1.5, 2.0):
            table[f"volatility x{shift} at its end, {rows} rows"] = rates(
                random_walk_levels(seeds, rows, shift, BREAK_GAPS))
    real = real_series_levels()
    calm = ~real["date"].dt.year.isin([2008, 2009])
    table["real series, every month end"] = rates(real["level"])
    table["real series, without 2008-2009"] = rates(real.loc[calm, "level"])
    print(pd.DataFrame(table).T.to_markdown(floatfmt=".3f"))


if __name__ == "__main__":
    main()
