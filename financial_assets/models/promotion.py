"""The promotion rule: which trained model serves, decided at an as-of date D with what was known at D.

A decision is taken each time a model is trained (its as-of date D), in training order, and holds for
the dates after D until the next decision. The champion in force at D is C (or none); the new model is M.

* **Gate.** A model may serve only when it has at least `min_oos_rows` out-of-fold rows, the lower bound
  of its out-of-sample AUC interval lies above 0.5 (chance), and its AUC lies above the AUC of every
  naive baseline scored on the same folds (`NAIVE`: always the majority class, the previous bar's sign).
* **Retirement.** C is retired at D when it is `max_age` sessions old or more (sessions after its as-of
  date up to D), or when it decayed: the 95% interval of its realized AUC over its last `decay_window`
  matured predictions lies wholly below its out-of-sample interval (`financial_assets.drift`, the rule
  the drift report applies). The newest model trained after C that passed the gate and is younger than
  `max_age` takes over (M itself when M passes); without one, no champion serves.
* **Paired comparison.** Otherwise M, if it passes the gate, replaces C only when it ranks better on the
  same recent out-of-sample rows: the last `paired_window` (ticker, date) rows with a label ended by D
  where C has a prediction made without that row (out of fold before C's as-of date, its own predictions
  after) and M an out-of-fold one. Statistic: M's AUC minus C's, computed within each stretch of rows
  where both predictions come from one fitted model each (so a change of fitted model never counts as
  ranking skill; stretches under MIN_STRETCH_ROWS rows left out) and averaged over stretches, as the
  headline OOS AUC averages folds. Test: one-sided, paired moving-block bootstrap (blocks of
  max(label horizon, n^(1/3)) dates, drawn within stretches, `n_boot` draws),
  p = (1 + #{d* - d >= d}) / (n_boot + 1); M wins when d > 0, p < `alpha` and there are at least
  `min_paired_rows` paired rows.
* **No champion.** When none is in force, the first model that passes the gate becomes champion.

Every decision records its kind, its reason in words and its numbers (`Decision.columns`, `Decision.tags`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from financial_assets.models.evaluation import block_bootstrap, default_block_length, within_fold_auc

if TYPE_CHECKING:  # the drift package imports Evidently: only the decay check loads it
    from financial_assets.drift import PerformanceDecay

#: the naive baselines a model must out-rank, by AUC on the same out-of-fold rows
NAIVE: tuple[str, ...] = ("majority", "previous_sign")
#: a stretch of paired rows shorter than this gives no AUC (too few rows of each class)
MIN_STRETCH_ROWS = 20
#: the rule in one line, recorded with every decision
RULE = ("gate: OOS rows >= min, OOS AUC CI low > 0.5 and OOS AUC > majority and previous-sign baseline AUCs; "
        "the champion is retired at max age or on decay (realized AUC CI below its OOS CI) and the newest gated "
        "model takes over, else none serves; otherwise a gated model replaces it only when a one-sided paired "
        "block bootstrap of the AUC difference on the same recent out-of-sample rows gives p < alpha")

#: decision kinds: what happened to the serving model
FIRST_CHAMPION, NO_CHAMPION, GATE_FAILED, KEPT, PAIRED_WIN, AGE, DECAY, RETIRED = (
    "first_champion", "no_champion", "gate_failed", "kept", "paired_win", "age", "decay", "retired")


@dataclass(frozen=True)
class Policy:
    """The rule's numbers (FA_MIN_CHAMPION_OOS_ROWS, FA_MAX_CHAMPION_AGE, FA_PAIRED_WINDOW, FA_MIN_PAIRED_ROWS,
    FA_DRIFT_PERFORMANCE_WINDOW)."""

    min_oos_rows: int = 500
    max_age: int = 240
    paired_window: int = 250
    min_paired_rows: int = 100
    decay_window: int = 120
    alpha: float = 0.05
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.min_oos_rows, self.max_age, self.paired_window, self.min_paired_rows, self.decay_window) < 1:
            raise ValueError(f"every count of the promotion policy must be positive, got {self}")
        if self.min_paired_rows > self.paired_window:
            raise ValueError(f"FA_MIN_PAIRED_ROWS ({self.min_paired_rows}) exceeds FA_PAIRED_WINDOW "
                             f"({self.paired_window}): no comparison could ever be made")


@dataclass(frozen=True)
class Evidence:
    """A trained model's out-of-sample numbers: its AUC with the 95% interval, rows, and the naive baselines' AUCs."""

    version: int
    as_of: pd.Timestamp
    auc: float
    auc_ci: tuple[float, float]
    rows: int
    baselines: Mapping[str, float]  # baseline name -> AUC on the same out-of-fold rows (NaN: not scored)

    @classmethod
    def of(cls, row: Mapping[str, object]) -> Evidence:
        """From a trained_model row (or a mapping with its columns: model_version, date, oos_auc, ...)."""
        return cls(int(row["model_version"]), pd.Timestamp(row["date"]), float(row["oos_auc"]),
                   (float(row["oos_auc_ci_low"]), float(row["oos_auc_ci_high"])), int(row["oos_rows"]),
                   {name: float(row.get(f"baseline_{name}_auc", math.nan)) for name in NAIVE})

    def describe(self) -> str:
        """'v3 AUC 0.5312 [0.5071, 0.5560]'."""
        return f"v{self.version} AUC {self.auc:.4f} [{self.auc_ci[0]:.4f}, {self.auc_ci[1]:.4f}]"


@dataclass(frozen=True)
class Gate:
    """Whether a model may serve at all, and why."""

    passed: bool
    reason: str


def gate(model: Evidence, min_oos_rows: int) -> Gate:
    """The gate: enough out-of-fold rows, AUC interval above chance, AUC above every naive baseline's."""
    failures = []
    if model.rows < min_oos_rows:
        failures.append(f"{model.rows} out-of-fold rows < {min_oos_rows}")
    if not model.auc > 0.5:
        failures.append(f"AUC {model.auc:.4f} not above 0.5")
    if not model.auc_ci[0] > 0.5:
        failures.append(f"AUC CI low {model.auc_ci[0]:.4f} <= 0.5")
    known = {name: auc for name, auc in model.baselines.items() if math.isfinite(auc)}
    failures += [f"AUC {model.auc:.4f} <= {name} baseline AUC {auc:.4f}" for name, auc in known.items()
                 if not model.auc > auc]
    if failures:
        return Gate(False, f"{model.describe()} fails the gate: {'; '.join(failures)}")
    beaten = ", ".join(f"{name} {auc:.4f}" for name, auc in known.items())
    return Gate(True, f"{model.describe()} passes the gate ({model.rows} out-of-fold rows; CI low above 0.5; "
                      f"above the baselines {beaten or 'none scored'})")


@dataclass(frozen=True)
class Paired:
    """The paired comparison of a challenger with the champion on the same out-of-sample rows."""

    rows: int
    difference: float  # challenger AUC minus champion AUC, each the mean of its per-stretch AUCs
    ci_low: float  # one-sided 95% lower bound of the difference
    p_value: float  # one-sided: H0 the challenger ranks no better
    won: bool
    reason: str


#: the columns `paired_test` reads: row date, 0/1 label, both probabilities, and the stretch of the row
PAIRED_COLUMNS: tuple[str, ...] = ("date", "label", "champion", "challenger", "stretch")


def paired_rows(champion: pd.DataFrame, challenger: pd.DataFrame, labels: pd.DataFrame, as_of: pd.Timestamp,
                window: int) -> pd.DataFrame:
    """PAIRED_COLUMNS rows: the last `window` (ticker, date) rows, by date, where the champion (ticker, date,
    probability, stretch) and the challenger (ticker, date, probability, fold) both have an out-of-sample
    probability and `labels` (ticker, date, label 0/1 or NaN, t1) a label that ended by `as_of`."""
    keys = ["ticker", "date"]
    # combinatorial CV tests a row more than once: keep its last fold's prediction
    both = champion.drop_duplicates(keys, keep="last").merge(
        challenger.drop_duplicates(keys, keep="last")[[*keys, "probability", "fold"]], on=keys,
        suffixes=("", "_challenger"))
    both = both.merge(labels[[*keys, "label", "t1"]], on=keys)
    both = both.loc[(both["t1"] <= as_of) & both["label"].notna() & both["probability"].notna()
                    & both["probability_challenger"].notna()]
    both = both.sort_values(["date", "ticker"], kind="stable").tail(window)
    return pd.DataFrame({"date": both["date"].to_numpy(), "label": both["label"].to_numpy(dtype=float),
                         "champion": both["probability"].to_numpy(dtype=float),
                         "challenger": both["probability_challenger"].to_numpy(dtype=float),
                         "stretch": (both["stretch"].astype(str) + "|fold " + both["fold"].astype(str)).to_numpy()})


def paired_test(pairs: pd.DataFrame, *, horizon: int, policy: Policy) -> Paired:
    """Does the challenger rank better than the champion on `pairs` (PAIRED_COLUMNS, sorted by date)? The AUCs are
    the mean of the per-stretch AUCs, as the headline OOS AUC is the mean of the per-fold ones; stretches shorter
    than MIN_STRETCH_ROWS are left out."""
    sizes = pairs.groupby("stretch")["stretch"].transform("size")
    pairs = pairs.loc[sizes >= MIN_STRETCH_ROWS].reset_index(drop=True)
    n = len(pairs)
    if n < policy.min_paired_rows:
        return Paired(n, math.nan, math.nan, math.nan, False, f"{n} paired out-of-sample rows (in stretches of "
                      f"{MIN_STRETCH_ROWS}+) < {policy.min_paired_rows}: no comparison yet")
    label = pairs["label"].to_numpy(dtype=float)
    champion, challenger = (pairs[c].to_numpy(dtype=float) for c in ("champion", "challenger"))
    stretch = pairs["stretch"].astype("category").cat.codes.to_numpy()
    columns = [np.flatnonzero(stretch == k) for k in np.unique(stretch)]

    def statistic(index: np.ndarray) -> dict[str, np.ndarray]:
        y = label[index]
        return {"difference": within_fold_auc(y, challenger[index], columns)
                - within_fold_auc(y, champion[index], columns)}

    dates = pairs["date"].nunique()
    # blocks of dates, in rows: a pooled model has a row per ticker and date
    block = max(1, round(default_block_length(dates, horizon) * n / dates))
    difference = float(statistic(np.arange(n)[None, :])["difference"][0])
    samples = block_bootstrap(statistic, n, block, policy.n_boot, policy.seed, groups=stretch)["difference"]
    samples = samples[np.isfinite(samples)]
    if not math.isfinite(difference) or not len(samples):
        return Paired(n, math.nan, math.nan, math.nan, False,
                      f"{n} paired rows, but no stretch with both classes: no comparison")
    p_value = float((1 + np.sum(samples - difference >= difference)) / (len(samples) + 1))
    ci_low = float(np.percentile(samples, 100 * policy.alpha))
    won = difference > 0 and p_value < policy.alpha
    verdict = "better" if won else "not shown better"
    return Paired(n, difference, ci_low, p_value, won,
                  f"challenger {verdict} on {n} paired out-of-sample rows: AUC difference {difference:+.4f} "
                  f"(one-sided {1 - policy.alpha:.0%} bound {ci_low:+.4f}), p = {p_value:.3f} vs {policy.alpha}")


@dataclass(frozen=True)
class Champion:
    """The champion in force at a decision: its evidence, its age in sessions, and its decay check (None: not run)."""

    evidence: Evidence
    age: int
    decay: PerformanceDecay | None = None

    @property
    def decayed(self) -> bool:
        """Its realized AUC interval lies wholly below its out-of-sample interval."""
        return self.decay is not None and self.decay.decayed


@dataclass(frozen=True)
class Decision:
    """The outcome of one decision: which version serves from the as-of date on, and every number it used."""

    kind: str
    version: int  # the new model's
    serving: int | None  # the version serving after the decision; None: no champion
    reason: str
    gate: Gate
    champion: Champion | None  # the champion in force before the decision
    paired: Paired | None

    @property
    def promoted(self) -> bool:
        """The new model serves."""
        return self.serving == self.version

    def columns(self) -> dict[str, object]:
        """The decision's trained_model columns."""
        c, p = self.champion, self.paired
        decay = c.decay if c is not None else None
        realized = (decay.realized_auc, *decay.realized_auc_ci) if decay is not None else (math.nan,) * 3
        return {"gate_passed": self.gate.passed, "gate_reason": self.gate.reason, "promotion_decision": self.kind,
                "promotion_reason": self.reason, "serving_version": self.serving,
                "compared_version": "" if c is None else str(c.evidence.version),
                "champion_age": None if c is None else c.age, "champion_decayed": bool(c is not None and c.decayed),
                "champion_realized_auc": realized[0], "champion_realized_auc_ci_low": realized[1],
                "champion_realized_auc_ci_high": realized[2], "paired_rows": 0 if p is None else p.rows,
                "paired_auc_difference": math.nan if p is None else p.difference,
                "paired_pvalue": math.nan if p is None else p.p_value}

    def tags(self) -> dict[str, str]:
        """The decision as MLflow model-version tags: kind, reason, gate, serving version ("none" without a champion),
        the rule, and every other number as one JSON tag (each tag costs a registry write)."""
        columns = self.columns()
        headline = ("promotion_decision", "promotion_reason", "gate_passed")
        numbers = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in columns.items()
                   if k not in (*headline, "serving_version")}
        return {**{k: str(columns[k]) for k in headline}, "serving_version": str(self.serving or "none"),
                "promotion_rule": RULE, "promotion_numbers": json.dumps(numbers)}


def decide(new: Evidence, policy: Policy, champion: Champion | None, paired: Paired | None = None,
           successor: Evidence | None = None) -> Decision:
    """Apply the rule to the new model `new`. `champion`: the one in force at its as-of date; `paired`: the paired
    comparison of `new` with it (needed when it is neither retired nor `new` fails the gate); `successor`: the newest
    gated model trained after the champion and younger than max age, other than `new` (takes over on retirement)."""
    passed = gate(new, policy.min_oos_rows)
    if champion is None:
        if passed.passed:
            return Decision(FIRST_CHAMPION, new.version, new.version,
                            f"first champion (none was serving): {passed.reason}", passed, None, None)
        return Decision(NO_CHAMPION, new.version, None, f"no champion: {passed.reason}", passed, None, None)
    c = champion.evidence
    retired = []
    if champion.age >= policy.max_age:
        retired.append(f"champion v{c.version} is {champion.age} sessions old >= {policy.max_age}")
    if champion.decayed:
        low, high = champion.decay.realized_auc_ci
        retired.append(f"champion v{c.version} decayed: realized AUC {champion.decay.realized_auc:.4f} "
                       f"[{low:.4f}, {high:.4f}] over {champion.decay.n_matured} matured labels lies below its OOS "
                       f"interval [{c.auc_ci[0]:.4f}, {c.auc_ci[1]:.4f}]")
    if retired:
        kind = AGE if champion.age >= policy.max_age else DECAY
        taker = new if passed.passed else successor
        if taker is None:
            return Decision(RETIRED, new.version, None, f"{'; '.join(retired)}; {passed.reason}, and no newer model "
                            "passed it: no champion", passed, champion, None)
        why = passed.reason if taker is new else f"v{taker.version} is the newest model that passed the gate"
        return Decision(kind, new.version, taker.version, f"{'; '.join(retired)}: v{taker.version} takes over ({why})",
                        passed, champion, None)
    if not passed.passed:
        return Decision(GATE_FAILED, new.version, c.version, f"champion v{c.version} stays: {passed.reason}", passed,
                        champion, None)
    if paired is None:
        raise ValueError(f"v{new.version} passes the gate beside champion v{c.version}: the paired comparison is "
                         "needed")
    if paired.won:
        return Decision(PAIRED_WIN, new.version, new.version, f"v{new.version} replaces champion v{c.version}: "
                        f"{paired.reason}", passed, champion, paired)
    return Decision(KEPT, new.version, c.version, f"champion v{c.version} stays: {paired.reason}", passed, champion,
                    paired)
