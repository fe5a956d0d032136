"""The champion chain: which model is in force at a decision, which models serve a date, and a line per ticker.

A chain is the trained models of one registered model (one ticker, or the pooled model, and one
label) in training order: as-of date, then registry version. Each row holds the decision taken when
it was trained (`financial_assets.models.promotion`): `serving_version`, the version that serves
from its as-of date on (the new model, the champion kept, a successor, or none: NA), until the next
decision. Everything here reads as-of dates only, so what serves date D never depends on a model
trained at or after D.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: the aliases the promotion rule gives a new model (the registry's: `financial_assets.tracking.CHAMPION`, `CHALLENGER`)
CHAMPION, CHALLENGER = "champion", "challenger"


def chain_of(trained: pd.DataFrame, registered_model: str) -> pd.DataFrame:
    """The rows of `registered_model` in `trained` (trained_model rows), one per version, in training order."""
    if "registered_model" not in trained.columns:  # nothing trained yet
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "model_version": pd.Series(dtype="int64"),
                             "alias": pd.Series(dtype=object), "serving_version": pd.Series(dtype="Int64"),
                             "gate_passed": pd.Series(dtype=bool)})
    rows = trained.loc[trained["registered_model"] == registered_model].drop_duplicates("model_version")
    return rows.sort_values(["date", "model_version"], kind="stable").reset_index(drop=True)


def _served_positions(chain: pd.DataFrame) -> np.ndarray:
    """Per row: the chain position of the version serving after its decision, -1 for none."""
    position = {int(v): i for i, v in enumerate(chain["model_version"])}
    return np.array([-1 if pd.isna(v) else position[int(v)] for v in chain["serving_version"]], dtype=np.int64)


def prior_champion(chain: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series | None:
    """The champion in force for a model trained at `as_of`: the one serving after the newest decision taken at or
    before `as_of` (a model trained earlier on the same date counts), or None."""
    decided = int(np.searchsorted(chain["date"].to_numpy(dtype="datetime64[ns]"), np.datetime64(as_of, "ns"),
                                  side="right"))
    if decided == 0:
        return None
    position = _served_positions(chain.iloc[:decided])[-1]
    return chain.iloc[position] if position >= 0 else None


def serving(chain: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Per date D (index): `champion`, the chain position of the version serving after the newest decision taken
    strictly before D, and `challenger`, that of the newest model trained before D when it is not the champion (its
    predictions go in shadow); -1 where there is none."""
    index = pd.DatetimeIndex(dates)
    if chain.empty:
        return pd.DataFrame({"champion": -1, "challenger": -1}, index=index)
    before = np.searchsorted(chain["date"].to_numpy(dtype="datetime64[ns]"), index.to_numpy(dtype="datetime64[ns]"),
                             side="left") - 1
    champion = np.where(before >= 0, _served_positions(chain)[before.clip(0)], -1)
    challenger = np.where((before >= 0) & (before != champion), before, -1)
    return pd.DataFrame({"champion": champion, "challenger": challenger}, index=index)


def sessions_between(sessions: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Sessions after `start` up to and including `end`: the age at `end` of a model trained as of `start`."""
    return int(sessions.searchsorted(end, side="right") - sessions.searchsorted(start, side="right"))


def successor(chain: pd.DataFrame, champion: pd.Series, as_of: pd.Timestamp, sessions: pd.DatetimeIndex,
              max_age: int) -> pd.Series | None:
    """The newest model trained after `champion`, by `as_of`, that passed the gate and is younger than `max_age`."""
    later = chain.iloc[int(np.flatnonzero(chain["model_version"] == champion["model_version"])[0]) + 1:]
    later = later.loc[(later["date"] <= as_of) & later["gate_passed"].astype(bool)]
    young = [sessions_between(sessions, day, as_of) < max_age for day in later["date"]]
    return later.loc[young].iloc[-1] if any(young) else None


def _streak_start(chain: pd.DataFrame, decided: int) -> pd.Series:
    """The row of the decision that put the version serving after row `decided - 1` in force."""
    served = _served_positions(chain.iloc[:decided])
    start = decided - 1
    while start > 0 and served[start - 1] == served[-1]:
        start -= 1
    return chain.iloc[start]


def _auc(row: pd.Series) -> str:
    pooled = row.get("oos_auc_pooled", math.nan)
    return (f"OOS AUC {row['oos_auc']:.3f} [{row['oos_auc_ci_low']:.3f}, {row['oos_auc_ci_high']:.3f}]"
            + ("" if pd.isna(pooled) else f" (pooled {pooled:.3f})")
            + f" vs majority {row.get('baseline_majority_auc', math.nan):.3f}, previous sign "
              f"{row.get('baseline_previous_sign_auc', math.nan):.3f}")


def summary_lines(trained: pd.DataFrame, sessions: pd.DatetimeIndex, end: pd.Timestamp) -> list[str]:
    """One line per ticker and registered model of trained_model rows, for the model serving after the newest
    decision by `end`: its type, version and as-of date, its age in sessions at `end`, its out-of-sample AUC with
    the 95% interval beside the naive baselines' AUCs, and why it serves (the reason of the decision that put it in
    force); or "no champion", the newest model in shadow and why it does not serve."""
    lines = []
    for (ticker, name), rows in trained.groupby(["ticker", "registered_model"], sort=True):
        chain = chain_of(rows.loc[rows["date"] <= end], name)
        if chain.empty:
            continue
        count = f"{len(chain)} model(s) trained"
        best = prior_champion(chain, end)
        if best is None:
            newest = chain.iloc[-1]
            lines.append(f"{ticker}: no champion ({name}, {count}); newest {newest['model_type']} "
                         f"v{newest['model_version']} as of {newest['date']:%Y-%m-%d} in shadow: {_auc(newest)}; "
                         f"{newest['promotion_reason']}")
            continue
        age = sessions_between(sessions, best["date"], end)
        lines.append(f"{ticker}: champion {best['model_type']} {name} v{best['model_version']} as of "
                     f"{best['date']:%Y-%m-%d}, age {age} sessions: {_auc(best)}; "
                     f"{_streak_start(chain, len(chain))['promotion_reason']} ({count})")
    return lines
