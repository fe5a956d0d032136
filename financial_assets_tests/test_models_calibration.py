"""Calibration fitted on out-of-fold predictions only: forward in time, never on the rows it maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.models import Calibrator, calibrate_out_of_fold, fit_calibrator, metric_arrays


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


def test_forward_calibration_uses_only_records_whose_labels_ended_before_the_fold():
    raw, y = _miscalibrated(1000, 1)
    t0 = pd.bdate_range("2020-01-01", periods=1000).to_numpy()
    t1 = np.r_[t0[5:], np.repeat(t0[-1], 5)]  # 5-bar labels
    fold = np.repeat(np.arange(5), 200)
    calibrated = calibrate_out_of_fold(raw, y, t0, t1, fold, "isotonic", 50)
    assert np.isnan(calibrated[fold == 0]).all() and np.isfinite(calibrated[fold > 0]).all()
    # fold 2 is mapped by a calibrator of fold 0-1 records that ended before fold 2 began: refit it by hand
    source = (fold < 2) & (t1 < t0[400])
    assert source.sum() == 400 - 5
    by_hand = Calibrator("isotonic").fit(raw[source], y[source]).transform(raw[fold == 2])
    np.testing.assert_allclose(calibrated[fold == 2], by_hand)
    # labels of fold 2 onwards cannot move the calibrated probabilities of folds 0-2
    y_later = y.copy()
    y_later[fold >= 2] = 1 - y_later[fold >= 2]
    changed = calibrate_out_of_fold(raw, y_later, t0, t1, fold, "isotonic", 50)
    np.testing.assert_array_equal(changed[fold <= 2], calibrated[fold <= 2])
    assert not np.allclose(changed[fold == 4], calibrated[fold == 4])


def test_too_few_records_or_one_class_give_no_calibrator():
    assert fit_calibrator(np.full(10, 0.5), np.ones(10), "platt", 5) is None
    assert fit_calibrator(np.linspace(0, 1, 10), np.r_[np.zeros(5), np.ones(5)], "platt", 50) is None
    with pytest.raises(ValueError):
        Calibrator("beta")
