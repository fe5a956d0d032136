"""performance_decay: realized AUC and accuracy on matured labels against the OOS estimate and its CI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from financial_assets.core.errors import BarDataError
from financial_assets.drift import performance_decay

DATES = pd.bdate_range("2022-01-03", periods=600)


def _outcomes(skill: float, seed: int = 0, horizon_days: int = 7) -> pd.DataFrame:
    """Labels from a latent score; `skill` scales how much the predicted probability knows of it."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=len(DATES))
    label = (latent + rng.normal(size=len(DATES)) > 0).astype(float)
    return pd.DataFrame({"date": DATES, "t1": DATES + pd.Timedelta(days=horizon_days),
                         "label": label, "proba": expit(skill * latent)})


def test_a_skilled_model_meeting_its_oos_estimate_has_not_decayed() -> None:
    decay = performance_decay(_outcomes(skill=1.0), as_of=DATES[-1], oos_auc=0.75, oos_auc_ci=(0.70, 0.80))
    assert decay.evaluated and not decay.decayed
    assert 0.65 < decay.realized_auc < 0.9 and 0.6 < decay.realized_accuracy < 0.85
    low, high = decay.realized_auc_ci
    assert low < decay.realized_auc < high and high - low < 0.25
    assert "no decay" in decay.markdown()


def test_a_model_that_lost_its_skill_has_decayed() -> None:
    decay = performance_decay(_outcomes(skill=0.0, seed=1).assign(proba=np.random.default_rng(2).uniform(size=600)),
                              as_of=DATES[-1], oos_auc=0.75, oos_auc_ci=(0.70, 0.80))
    assert decay.decayed and decay.realized_auc < 0.62
    assert "**decayed**" in decay.markdown()


def test_open_labels_are_ignored_and_the_rolling_series_covers_matured_ones() -> None:
    outcomes = _outcomes(skill=1.0)
    as_of = DATES[399]
    decay = performance_decay(outcomes, as_of=as_of, oos_auc=0.75, oos_auc_ci=(0.70, 0.80), window=120)
    matured = int((outcomes["t1"] <= as_of).sum())
    assert matured < 400
    assert len(decay.rolling) == matured - 120 + 1
    assert decay.rolling["date"].max() == outcomes["date"][outcomes["t1"] <= as_of].max()
    assert decay.rolling["auc"].iloc[-1] == pytest.approx(decay.realized_auc)
    assert decay.rolling["accuracy"].iloc[-1] == pytest.approx(decay.realized_accuracy)
    record = decay.to_dict()
    assert record["as_of"] == as_of.strftime("%Y-%m-%d") and len(record["rolling"]) == len(decay.rolling)


def test_too_few_matured_labels_is_not_evaluated_and_not_decayed() -> None:
    decay = performance_decay(_outcomes(skill=1.0), as_of=DATES[50], oos_auc=0.75, oos_auc_ci=(0.70, 0.80))
    assert not decay.evaluated and not decay.decayed and decay.n_matured < 120
    assert decay.to_dict()["realized_auc"] is None and "not evaluated" in decay.markdown()


def test_labels_must_be_binary() -> None:
    outcomes = _outcomes(skill=1.0)
    outcomes.loc[10, "label"] = 2.0
    with pytest.raises(BarDataError, match=r"\[performance_labels\] ticker='IBM' date=2022-01-17"):
        performance_decay(outcomes, as_of=DATES[-1], oos_auc=0.7, oos_auc_ci=(0.6, 0.8), ticker="IBM")
