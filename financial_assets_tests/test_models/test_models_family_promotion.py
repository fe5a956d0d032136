"""The promotion rule on constructed cases: the gate, the paired comparison, the age and decay rules, no champion."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from financial_assets.drift import performance_decay
from financial_assets.drift.rules import decayed_beyond_interval
from financial_assets.models.promotion import (
    AGE,
    DECAY,
    FIRST_CHAMPION,
    GATE_FAILED,
    KEPT,
    NO_CHAMPION,
    PAIRED_WIN,
    RETIRED,
    Champion,
    Evidence,
    Policy,
    decide,
    gate,
    paired_rows,
    paired_test,
)

POLICY = Policy(min_oos_rows=500, max_age=240, paired_window=250, min_paired_rows=100, n_boot=500)
AS_OF = pd.Timestamp("2012-12-31")


def _model(version: int, auc: float, low: float, high: float, rows: int = 800, previous_sign: float = 0.5,
           as_of: str = "2012-12-31") -> Evidence:
    return Evidence(version, pd.Timestamp(as_of), auc, (low, high), rows,
                    {"majority": 0.5, "previous_sign": previous_sign})


GOOD = _model(7, 0.56, 0.53, 0.59)
CHANCE = _model(7, 0.51, 0.48, 0.54)


def test_the_gate_wants_an_interval_above_chance_an_auc_above_the_naive_baselines_and_enough_rows():
    assert gate(GOOD, 500).passed
    assert "passes the gate" in gate(GOOD, 500).reason
    low = gate(CHANCE, 500)
    assert not low.passed and "AUC CI low 0.4800 <= 0.5" in low.reason
    # a model no better than the previous bar's sign does not serve, however tight its interval
    copycat = gate(_model(7, 0.55, 0.52, 0.58, previous_sign=0.56), 500)
    assert not copycat.passed and "AUC 0.5500 <= previous_sign baseline AUC 0.5600" in copycat.reason
    few = gate(_model(7, 0.60, 0.55, 0.65, rows=499), 500)
    assert not few.passed and "499 out-of-fold rows < 500" in few.reason
    # a baseline that could not be scored (no log_ret_1 feature) is not a hurdle; an unknown AUC never passes
    assert gate(Evidence(7, AS_OF, 0.56, (0.53, 0.59), 800, {"majority": 0.5, "previous_sign": math.nan}), 500).passed
    assert not gate(Evidence(7, AS_OF, math.nan, (0.53, 0.59), 800, {}), 500).passed


def test_without_a_champion_the_first_model_through_the_gate_serves_and_one_that_fails_leaves_none():
    failed = decide(CHANCE, POLICY, None)
    assert (failed.kind, failed.serving, failed.promoted) == (NO_CHAMPION, None, False)
    assert failed.reason.startswith("no champion: v7 AUC 0.5100 [0.4800, 0.5400] fails the gate")
    first = decide(GOOD, POLICY, None)
    assert (first.kind, first.serving, first.promoted) == (FIRST_CHAMPION, 7, True)
    assert first.reason.startswith("first champion (none was serving): v7 AUC ")


def _pairs(rng: np.random.Generator, n: int, champion_skill: float, challenger_skill: float,
           shift: float = 0.0) -> pd.DataFrame:
    """Labels driven by a signal z; each model sees z with its own skill; the challenger's two folds differ in level
    by `shift` (a fold's base rate), which must not count as ranking skill."""
    z = rng.standard_normal(n)
    label = (z + 3 * rng.standard_normal(n) > 0).astype(float)
    stretch = np.where(np.arange(n) < n // 2, "live|fold 3", "live|fold 4")
    champion = 1 / (1 + np.exp(-(champion_skill * z + rng.standard_normal(n))))
    challenger = 1 / (1 + np.exp(-(challenger_skill * z + rng.standard_normal(n)))) + np.where(
        stretch == "live|fold 3", shift, 0.0)
    return pd.DataFrame({"date": pd.bdate_range("2012-01-02", periods=n), "label": label, "champion": champion,
                         "challenger": challenger, "stretch": stretch})


def test_the_paired_comparison_promotes_a_clearly_better_challenger_and_not_an_equal_one():
    rng = np.random.default_rng(3)
    better = paired_test(_pairs(rng, 250, 0.0, 1.5), horizon=1, policy=POLICY)
    assert better.won and better.difference > 0.1 and better.p_value < 0.05 and better.rows == 250
    # equally skilled models: the one-sided test at 5% rejects about one time in twenty, never much more
    wins = [paired_test(_pairs(rng, 250, 0.5, 0.5), horizon=1, policy=POLICY).won for _ in range(60)]
    assert sum(wins) <= 7
    few = paired_test(_pairs(rng, 99, 0.0, 1.5), horizon=1, policy=POLICY)
    assert not few.won and math.isnan(few.difference) and "99 paired out-of-sample rows (in stretches" in few.reason
    # a stretch too short to rank in (a fitted model that predicted a few rows only) does not count
    short = _pairs(rng, 260, 0.0, 1.5).assign(stretch=lambda f: np.where(f.index < 10, "oof fold 4|fold 4",
                                                                          f["stretch"]))
    assert paired_test(short, horizon=1, policy=POLICY).rows == 250


def test_a_fold_level_shift_of_the_challenger_changes_nothing_in_the_paired_comparison():
    plain = paired_test(_pairs(np.random.default_rng(5), 250, 0.5, 0.8), horizon=1, policy=POLICY)
    shifted = paired_test(_pairs(np.random.default_rng(5), 250, 0.5, 0.8, shift=0.3), horizon=1, policy=POLICY)
    assert (shifted.difference, shifted.p_value) == (plain.difference, plain.p_value)


def test_paired_rows_are_the_latest_rows_both_models_predicted_out_of_sample_with_a_label_ended_by_the_decision():
    dates = pd.bdate_range("2012-10-01", "2012-12-31")
    champion = pd.DataFrame({"ticker": "AAA", "date": dates, "probability": np.linspace(0.4, 0.6, len(dates)),
                             "stretch": np.where(dates <= "2012-10-31", "oof fold 4", "live")})
    challenger = pd.DataFrame({"ticker": "AAA", "date": dates[5:], "probability": 0.5, "fold": 4})
    labels = pd.DataFrame({"ticker": "AAA", "date": dates, "label": 1.0, "t1": dates + pd.offsets.BDay(5)})
    pairs = paired_rows(champion, challenger, labels, AS_OF, window=30)
    assert len(pairs) == 30 and pairs["date"].is_monotonic_increasing
    assert pairs["date"].max() == dates[-6]  # the last five labels end after the decision
    assert set(pairs["stretch"]) == {"live|fold 4"}
    assert len(paired_rows(champion, challenger, labels, AS_OF, window=1000)) == len(dates) - 5 - 5


def _champion(age: int, decay=None) -> Champion:
    return Champion(_model(3, 0.55, 0.52, 0.58, as_of="2011-12-30"), age, decay)


def _paired(won: bool) -> object:
    from financial_assets.models.promotion import Paired

    return Paired(250, 0.04 if won else 0.01, 0.01 if won else -0.03, 0.01 if won else 0.3, won, "stated")


def test_a_champion_stays_unless_a_gated_challenger_wins_the_paired_comparison():
    kept = decide(GOOD, POLICY, _champion(100), _paired(False))
    assert (kept.kind, kept.serving, kept.promoted) == (KEPT, 3, False)
    won = decide(GOOD, POLICY, _champion(100), _paired(True))
    assert (won.kind, won.serving, won.promoted) == (PAIRED_WIN, 7, True)
    # a challenger failing the gate never serves, even beside a champion it out-ranks
    failed = decide(CHANCE, POLICY, _champion(100), _paired(True))
    assert (failed.kind, failed.serving) == (GATE_FAILED, 3)
    with pytest.raises(ValueError, match="the paired comparison is needed"):
        decide(GOOD, POLICY, _champion(100))


def test_at_max_age_the_newest_gated_model_takes_over_and_without_one_no_champion_serves():
    aged = decide(GOOD, POLICY, _champion(240))
    assert (aged.kind, aged.serving) == (AGE, 7)
    assert "champion v3 is 240 sessions old >= 240: v7 takes over" in aged.reason
    assert decide(GOOD, POLICY, _champion(239), _paired(False)).serving == 3
    older = _model(5, 0.55, 0.51, 0.59, as_of="2012-06-29")
    by_successor = decide(CHANCE, POLICY, _champion(250), successor=older)
    assert (by_successor.kind, by_successor.serving) == (AGE, 5)
    assert "v5 is the newest model that passed the gate" in by_successor.reason
    retired = decide(CHANCE, POLICY, _champion(250))
    assert (retired.kind, retired.serving) == (RETIRED, None)
    assert retired.reason.endswith("no newer model passed it: no champion")


def _decay(realized_skill: float):
    """The drift report's decay check of a champion with OOS AUC 0.58 [0.55, 0.61] on 300 matured predictions."""
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2012-01-02", periods=300)
    z = rng.standard_normal(300)
    label = (z + rng.standard_normal(300) > 0).astype(float)
    proba = 1 / (1 + np.exp(-(realized_skill * z + rng.standard_normal(300))))
    outcomes = pd.DataFrame({"date": dates, "t1": dates, "label": label, "proba": proba})
    return decayed_beyond_interval(performance_decay(outcomes, as_of=AS_OF, oos_auc=0.58, oos_auc_ci=(0.55, 0.61),
                                                     window=120))


def test_a_champion_whose_realized_interval_lies_below_its_oos_interval_loses_to_a_gated_model():
    decayed, steady = _decay(-1.0), _decay(1.0)
    assert decayed.decayed and not steady.decayed
    lost = decide(GOOD, POLICY, _champion(60, decayed))
    assert (lost.kind, lost.serving) == (DECAY, 7)
    assert "champion v3 decayed: realized AUC" in lost.reason and "lies below its OOS interval" in lost.reason
    assert decide(GOOD, POLICY, _champion(60, steady), _paired(False)).serving == 3
    alone = decide(CHANCE, POLICY, _champion(60, decayed))
    assert (alone.kind, alone.serving) == (RETIRED, None)


def test_every_decision_is_recorded_with_its_numbers():
    decision = decide(GOOD, POLICY, _champion(100, _decay(1.0)), _paired(True))
    columns = decision.columns()
    assert columns["promotion_decision"] == PAIRED_WIN and columns["serving_version"] == 7
    assert columns["compared_version"] == "3" and columns["champion_age"] == 100 and columns["gate_passed"]
    assert columns["paired_rows"] == 250 and columns["paired_pvalue"] == 0.01
    assert 0 < columns["champion_realized_auc_ci_low"] < columns["champion_realized_auc"] < 1
    tags = decide(CHANCE, POLICY, None).tags()
    assert (tags["serving_version"], tags["promotion_decision"], tags["gate_passed"]) == ("none", NO_CHAMPION, "False")
    numbers = json.loads(tags["promotion_numbers"])
    assert numbers["compared_version"] == "" and numbers["paired_pvalue"] is None and tags["promotion_rule"]
    assert json.loads(decision.tags()["promotion_numbers"])["champion_age"] == 100
    assert all(isinstance(v, str) for v in tags.values())


def test_a_policy_that_can_never_compare_is_refused():
    with pytest.raises(ValueError, match="FA_MIN_PAIRED_ROWS .300. exceeds FA_PAIRED_WINDOW .250."):
        Policy(paired_window=250, min_paired_rows=300)
