"""Calibration of a model's own out-of-sample outputs: Platt (slope >= 0) or isotonic, and the base rate beside it."""

from __future__ import annotations

import numpy as np
import pytest

from financial_assets.models import Calibrator, fit_calibrator, metric_arrays


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.2, 0.8, n)
    y = (rng.random(n) < truth).astype(float)
    logit = np.log(truth / (1 - truth))
    return 1 / (1 + np.exp(-3 * logit - 0.5)), y  # overconfident and biased up


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_improves_log_loss_of_overconfident_scores(method):
    raw, y = _miscalibrated(6000, 0)
    calibrator = Calibrator(method).fit(raw[:3000], y[:3000])
    before = metric_arrays(y[3000:], raw[3000:])
    after = metric_arrays(y[3000:], calibrator.transform(raw[3000:]))
    assert after["log_loss"][0] < before["log_loss"][0] - 0.02 and after["brier"][0] < before["brier"][0]


def test_platt_keeps_the_ranking_and_its_base_rate_is_the_up_rate_of_its_rows():
    raw, y = _miscalibrated(3000, 1)
    calibrator = Calibrator("platt").fit(raw, y)
    calibrated = calibrator.transform(raw)
    assert (np.diff(calibrated[np.argsort(raw)]) >= 0).all()  # monotone: the AUC is the raw score's
    assert len(np.unique(calibrated)) == len(np.unique(raw))  # no steps: every distinct score stays distinct
    assert np.isclose(calibrator.base_rate, y.mean(), atol=1e-4) and np.isclose(calibrated.mean(), calibrator.base_rate)


def test_platt_never_inverts_a_model_that_ranks_the_wrong_way_on_its_rows():
    raw, y = _miscalibrated(3000, 2)
    flat = Calibrator("platt").fit(raw, 1 - y)  # the scores rank these outcomes backwards
    assert flat.slope == 0.0
    np.testing.assert_allclose(flat.transform(raw), (1 - y).mean())  # the flat map: a model at chance serves its rate
    assert np.isclose(flat.base_rate, (1 - y).mean())


def test_too_few_records_or_one_class_give_no_calibrator():
    assert fit_calibrator(np.full(10, 0.5), np.ones(10), "platt", 5) is None
    assert fit_calibrator(np.linspace(0, 1, 10), np.r_[np.zeros(5), np.ones(5)], "platt", 50) is None
    with pytest.raises(ValueError):
        Calibrator("beta")
