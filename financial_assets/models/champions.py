"""The champion chain: which champion a new model must beat, which models serve a date, and a line per ticker.

A chain is the trained models of one registered model (one ticker, or the pooled model, and one
label) in training order: as-of date, then registry version. Each row holds the alias the promotion
rule gave it when it was trained (champion or challenger). Everything here reads as-of dates only,
so what serves date D never depends on a model trained at or after D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the aliases the promotion rule gives a new model (the registry's: `financial_assets.tracking.CHAMPION`, `CHALLENGER`)
CHAMPION, CHALLENGER = "champion", "challenger"


def chain_of(trained: pd.DataFrame, registered_model: str) -> pd.DataFrame:
    """The rows of `registered_model` in `trained` (trained_model rows), one per version, in training order."""
    if "registered_model" not in trained.columns:  # nothing trained yet
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "model_version": pd.Series(dtype="int64"),
                             "alias": pd.Series(dtype=object)})
    rows = trained.loc[trained["registered_model"] == registered_model].drop_duplicates("model_version")
    return rows.sort_values(["date", "model_version"], kind="stable").reset_index(drop=True)


def prior_champion(chain: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series | None:
    """The champion a model trained at `as_of` is compared with: the newest champion trained at or before `as_of`
    (a model trained earlier on the same date counts), or None for the first model."""
    known = chain.loc[(chain["date"] <= as_of) & (chain["alias"] == CHAMPION)]
    return known.iloc[-1] if len(known) else None


def serving(chain: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Per date D (index): `champion`, the chain position of the newest champion trained strictly before D, and
    `challenger`, that of the newest model trained before D when it is a challenger; -1 where there is none."""
    index = pd.DatetimeIndex(dates)
    if chain.empty:
        return pd.DataFrame({"champion": -1, "challenger": -1}, index=index)
    before = np.searchsorted(chain["date"].to_numpy(dtype="datetime64[ns]"), index.to_numpy(dtype="datetime64[ns]"),
                             side="left") - 1
    last = before.clip(0)
    is_champion = (chain["alias"] == CHAMPION).to_numpy()
    newest_champion = np.maximum.accumulate(np.where(is_champion, np.arange(len(chain)), -1))
    champion = np.where(before >= 0, newest_champion[last], -1)
    challenger = np.where((champion >= 0) & ~is_champion[last], before, -1)
    return pd.DataFrame({"champion": champion, "challenger": challenger}, index=index)


def summary_lines(trained: pd.DataFrame) -> list[str]:
    """One line per ticker and registered model of trained_model rows: the newest champion, its out-of-fold AUC with
    its 95% interval and balanced accuracy, beside the accuracy of always predicting the majority class."""
    lines = []
    for (ticker, name), rows in trained.groupby(["ticker", "registered_model"], sort=True):
        chain = chain_of(rows, name)
        best = prior_champion(chain, chain["date"].max())
        if best is None:
            lines.append(f"{ticker}: {name}: {len(chain)} model(s), none is champion")
            continue
        lines.append(f"{ticker}: champion {best['model_type']} {name} v{best['model_version']} as of "
                     f"{best['date']:%Y-%m-%d}: OOS AUC {best['oos_auc']:.3f} [{best['oos_auc_ci_low']:.3f}, "
                     f"{best['oos_auc_ci_high']:.3f}], balanced accuracy {best['oos_balanced_accuracy']:.3f}, accuracy "
                     f"{best['oos_accuracy']:.3f} vs majority baseline {best['baseline_majority_accuracy']:.3f} "
                     f"({len(chain)} model(s) trained)")
    return lines
