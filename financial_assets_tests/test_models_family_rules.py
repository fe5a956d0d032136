"""The models family's plain rules: retrain dates, as-of dates of a run, the champion chain, stored folds."""

from __future__ import annotations

import pandas as pd
import pytest

from financial_assets.core.calendar import retrain_sessions, trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.models import TrainingConfig, build_dataset, train_and_evaluate
from financial_assets.models.asof import model_types_at, training_dates
from financial_assets.models.champions import CHALLENGER, CHAMPION, chain_of, prior_champion, serving, summary_lines
from financial_assets.models.folds import as_of_folds, stored_splits
from financial_assets_tests.models_data import random_walk_table

SESSIONS = trading_sessions("XNYS", "2012-01-03", "2013-12-31")


def test_retrain_dates_are_the_last_session_of_each_period():
    assert retrain_sessions(SESSIONS, "month_end")[:3].strftime("%Y-%m-%d").tolist() == [
        "2012-01-31", "2012-02-29", "2012-03-30"]  # March 30: the 31st is a Saturday
    assert retrain_sessions(SESSIONS, "quarter_end")[:2].strftime("%Y-%m-%d").tolist() == ["2012-03-30", "2012-06-29"]
    assert retrain_sessions(SESSIONS, "year_end").strftime("%Y-%m-%d").tolist() == ["2012-12-31", "2013-12-31"]
    weekly = retrain_sessions(SESSIONS, "weekly")
    assert "2012-04-05" in weekly.strftime("%Y-%m-%d")  # Good Friday: the week ends on Thursday
    assert len(weekly) == 105
    with pytest.raises(ValueError, match="FA_RETRAIN_CALENDAR must be one of"):
        retrain_sessions(SESSIONS, "monthly")


def test_a_run_trains_at_its_retrain_dates_and_a_single_date_run_at_that_date():
    retrain = retrain_sessions(SESSIONS, "month_end")
    run = SESSIONS[(SESSIONS >= "2012-01-15") & (SESSIONS <= "2012-03-15")]  # ends mid-month: March is not trained
    assert training_dates(run, retrain).strftime("%Y-%m-%d").tolist() == ["2012-01-31", "2012-02-29"]
    assert training_dates(pd.DatetimeIndex(["2012-02-15"]), retrain).tolist() == [pd.Timestamp("2012-02-15")]
    # the nightly run keeps to the calendar, also over a single date
    assert training_dates(pd.DatetimeIndex(["2012-02-15"]), retrain, calendar_only=True).empty
    assert training_dates(pd.DatetimeIndex(["2012-02-29"]), retrain, calendar_only=True).tolist() == [
        pd.Timestamp("2012-02-29")]
    dates = training_dates(run, retrain)
    assert model_types_at(dates[0], dates, ("xgboost", "lstm"), False) == ("xgboost",)
    assert model_types_at(dates[-1], dates, ("xgboost", "lstm"), False) == ("xgboost", "lstm")
    assert model_types_at(dates[0], dates, ("xgboost", "lstm"), True) == ("xgboost", "lstm")


def _chain(*models: tuple[str, int, str]) -> pd.DataFrame:
    return pd.DataFrame([{"ticker": "AAA", "registered_model": "fa_AAA_dir_5", "date": pd.Timestamp(day),
                          "model_version": version, "alias": alias, "model_type": "xgboost", "oos_auc": 0.5,
                          "oos_auc_ci_low": 0.47, "oos_auc_ci_high": 0.53, "oos_balanced_accuracy": 0.5,
                          "oos_accuracy": 0.51, "baseline_majority_accuracy": 0.53} for day, version, alias in models])


def test_a_date_is_served_by_the_newest_champion_trained_strictly_before_it_and_the_newer_challenger_in_shadow():
    chain = chain_of(_chain(("2012-03-30", 1, CHAMPION), ("2012-06-29", 2, CHALLENGER), ("2012-09-28", 3, CHAMPION),
                            ("2012-09-28", 4, CHALLENGER)), "fa_AAA_dir_5")
    dates = pd.DatetimeIndex(["2012-03-30", "2012-04-02", "2012-06-29", "2012-07-02", "2012-09-28", "2012-10-01"])
    served = serving(chain, dates)
    assert served["champion"].tolist() == [-1, 0, 0, 0, 0, 2]  # nothing serves the first champion's own date
    assert served["challenger"].tolist() == [-1, -1, -1, 1, 1, 3]
    # a new model at 2012-09-28 is judged against the champion known by then, a same-day one included
    assert prior_champion(chain, pd.Timestamp("2012-09-27"))["model_version"] == 1
    assert prior_champion(chain, pd.Timestamp("2012-09-28"))["model_version"] == 3
    assert prior_champion(chain, pd.Timestamp("2012-03-29")) is None
    assert serving(chain_of(pd.DataFrame(), "fa_AAA_dir_5"), dates)["champion"].eq(-1).all()


def test_the_summary_names_the_newest_champion_with_its_interval_and_the_majority_baseline():
    chain = _chain(("2012-03-30", 1, CHAMPION), ("2012-06-29", 2, CHALLENGER))
    (line,) = summary_lines(chain)
    assert line == ("AAA: champion xgboost fa_AAA_dir_5 v1 as of 2012-03-30: OOS AUC 0.500 [0.470, 0.530], balanced "
                    "accuracy 0.500, accuracy 0.510 vs majority baseline 0.530 (2 model(s) trained)")


def test_the_aliases_here_are_the_registrys():
    from financial_assets import tracking

    assert (CHAMPION, CHALLENGER) == (tracking.CHAMPION, tracking.CHALLENGER)


def test_stored_folds_are_the_folds_training_evaluates_and_refuse_another_training_set():
    frame = random_walk_table(n_bars=500)
    config = TrainingConfig(tuning_trials=0, n_boot=50, permutation_repeats=0)
    as_of = pd.Timestamp(frame["date"].iloc[400])
    folds = as_of_folds(frame, config, as_of)
    data = build_dataset(frame, config, as_of)
    assert set(folds.table["role"]) == {"train", "test", "purged"}
    assert (folds.table["date"] == as_of).all() and folds.table["sample_date"].max() <= as_of
    assert folds.table["t1"].max() <= as_of  # no label ends after the as-of date
    assert folds.data.data_hash == data.description.data_hash
    result = train_and_evaluate(frame, config, as_of, outer=stored_splits(folds.table))
    tested = folds.table.loc[folds.table["role"] == "test"].sort_values(["sample_date", "fold"])
    assert tested["sample_date"].tolist() == result.oof["date"].tolist()
    assert tested["fold"].tolist() == result.oof["fold"].tolist()
    later = pd.Timestamp(frame["date"].iloc[420])
    with pytest.raises(BarDataError, match=r"\[cv_folds_current\] ticker='RW0' date=.*rebuild cv_folds"):
        train_and_evaluate(frame, config, later, outer=stored_splits(folds.table))
    with pytest.raises(BarDataError, match=r"\[min_training_rows\] ticker='RW0' date=.* at least 100"):
        as_of_folds(frame, config, pd.Timestamp(frame["date"].iloc[60]))
