"""Labels that should have matured: null although the bars of their horizon are in the lake."""

from __future__ import annotations

import numpy as np
import pandas as pd

from financial_assets.labels.compute import HORIZONS, TB_COLUMNS, TripleBarrierConfig

#: each label column of `labels` (and `training_table`) with the bars after its date that it needs
LABEL_HORIZONS = {**{f"{name}_{h}": h for h in HORIZONS for name in ("fwd_ret", "dir", "t1")},
                  **dict.fromkeys(TB_COLUMNS, TripleBarrierConfig().horizon)}


def unmatured_nulls(frame: pd.DataFrame, bars: pd.DataFrame) -> list[str]:
    """`ticker:date:column` of every label of `frame` that is null although its horizon's bars are in `bars`."""
    found = []
    for ticker, rows in frame.groupby("ticker"):
        dates = np.sort(bars.loc[bars["ticker"] == ticker, "date"].to_numpy())
        after = len(dates) - np.searchsorted(dates, rows["date"].to_numpy(), side="right")  # bars after each row
        for column, horizon in LABEL_HORIZONS.items():
            missing = rows[column].isna().to_numpy() & (after >= horizon)
            found += [f"{ticker}:{d.date()}:{column}" for d in rows["date"][missing]]
    return found
