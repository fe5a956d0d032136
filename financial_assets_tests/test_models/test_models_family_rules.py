"""The models family's plain rules: retrain dates, as-of dates of a run, the champion chain, stored folds."""

from __future__ import annotations

import pandas as pd
import pytest

from financial_assets.core.calendar import retrain_sessions, trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.models import TrainingConfig, build_dataset, train_and_evaluate
from financial_assets.models.asof import model_types_at, retrain_calendar_of, training_dates
from financial_assets.models.champions import (
    CHALLENGER,
    CHAMPION,
    chain_of,
    prior_champion,
    serving,
    sessions_between,
    successor,
    summary_lines,
)
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


def test_auto_retrains_a_run_of_up_to_a_year_monthly_up_to_eight_years_quarterly_and_a_longer_one_yearly():
    def calendar(first: str, last: str) -> str:
        return retrain_calendar_of("auto", pd.DatetimeIndex([first, "2005-06-15", last]))

    assert retrain_calendar_of("auto", pd.DatetimeIndex(["2012-02-15"])) == "month_end"  # nightly, drift retrain
    assert calendar("2005-01-03", "2005-12-30") == "month_end"
    assert calendar("2009-01-02", "2012-12-31") == "quarter_end"  # the first run of a 4-year folder
    assert calendar("2005-01-03", "2012-12-31") == "quarter_end"
    assert calendar("2000-03-01", "2013-03-01") == "year_end"  # the embedded history
    assert retrain_calendar_of("weekly", pd.DatetimeIndex(["2000-03-01", "2013-03-01"])) == "weekly"


def _chain(*models: tuple[str, int, int | None], gate: tuple[int, ...] = ()) -> pd.DataFrame:
    """trained_model rows: (as-of date, version, the version serving after its decision or None)."""
    return pd.DataFrame([{"ticker": "AAA", "registered_model": "fa_AAA_dir_5", "date": pd.Timestamp(day),
                          "model_version": version, "serving_version": serves, "gate_passed": version in gate,
                          "alias": CHAMPION if serves == version else CHALLENGER, "model_type": "xgboost",
                          "oos_auc": 0.55, "oos_auc_ci_low": 0.52, "oos_auc_ci_high": 0.58, "oos_auc_pooled": 0.54,
                          "baseline_majority_auc": 0.5, "baseline_previous_sign_auc": 0.51,
                          "promotion_reason": f"reason of v{version}"} for day, version, serves in models]
                        ).astype({"serving_version": "Int64"})


def test_a_date_is_served_by_the_version_in_force_after_the_newest_decision_before_it_and_the_newest_in_shadow():
    chain = chain_of(_chain(("2012-03-30", 1, 1), ("2012-06-29", 2, 1), ("2012-09-28", 3, 3), ("2012-09-28", 4, 3),
                            ("2012-12-31", 5, None), ("2013-03-28", 6, 2)), "fa_AAA_dir_5")
    dates = pd.DatetimeIndex(["2012-03-30", "2012-04-02", "2012-06-29", "2012-07-02", "2012-09-28", "2012-10-01",
                              "2013-01-02", "2013-04-01"])
    served = serving(chain, dates)
    assert served["champion"].tolist() == [-1, 0, 0, 0, 0, 2, -1, 1]  # nothing serves the first model's own date
    # the newest model is in shadow whenever it does not serve, also when no champion does
    assert served["challenger"].tolist() == [-1, -1, -1, 1, 1, 3, 4, 5]
    # a new model at 2012-09-28 is judged against the champion in force by then, a same-day decision included
    assert prior_champion(chain, pd.Timestamp("2012-09-27"))["model_version"] == 1
    assert prior_champion(chain, pd.Timestamp("2012-09-28"))["model_version"] == 3
    assert prior_champion(chain, pd.Timestamp("2012-03-29")) is None
    assert prior_champion(chain, pd.Timestamp("2013-01-31")) is None  # no champion from the 2012-12-31 decision on
    assert serving(chain_of(pd.DataFrame(), "fa_AAA_dir_5"), dates)["champion"].eq(-1).all()


def test_the_successor_is_the_newest_gated_model_after_the_champion_younger_than_max_age():
    sessions = trading_sessions("XNYS", "2011-01-03", "2013-12-31")
    chain = chain_of(_chain(("2011-12-30", 1, 1), ("2012-03-30", 2, 1), ("2012-06-29", 3, 1), ("2012-09-28", 4, 1),
                            gate=(1, 2, 3)), "fa_AAA_dir_5")
    champion = chain.iloc[0]
    assert successor(chain, champion, pd.Timestamp("2012-12-31"), sessions, 240)["model_version"] == 3
    assert successor(chain, champion, pd.Timestamp("2012-04-30"), sessions, 240)["model_version"] == 2
    assert successor(chain, champion, pd.Timestamp("2012-12-31"), sessions, 100) is None  # 3 is 125 sessions old
    # 131 weekdays after 2012-06-29, less July 4, Labor Day, Sandy's two closed days, Thanksgiving and Christmas
    assert sessions_between(sessions, pd.Timestamp("2012-06-29"), pd.Timestamp("2012-12-31")) == 125


def test_the_summary_names_the_serving_model_its_interval_baselines_age_and_reason_or_says_no_champion():
    sessions = trading_sessions("XNYS", "2012-01-03", "2013-12-31")
    chain = _chain(("2012-03-30", 1, 1), ("2012-06-29", 2, 1))
    (line,) = summary_lines(chain, sessions, pd.Timestamp("2012-07-31"))
    assert line == ("AAA: champion xgboost fa_AAA_dir_5 v1 as of 2012-03-30, age 84 sessions: OOS AUC 0.550 [0.520, "
                    "0.580] (pooled 0.540) vs majority 0.500, previous sign 0.510; reason of v1 (2 model(s) trained)")
    retired = _chain(("2012-03-30", 1, 1), ("2012-06-29", 2, None), ("2012-09-28", 3, None))
    (line,) = summary_lines(retired, sessions, pd.Timestamp("2012-12-31"))
    assert line.startswith("AAA: no champion (fa_AAA_dir_5, 3 model(s) trained); newest xgboost v3 as of 2012-09-28 "
                           "in shadow: OOS AUC 0.550 [0.520, 0.580]") and line.endswith("; reason of v3")
    # the summary at an earlier end reads the decisions taken by then only
    (line,) = summary_lines(retired, sessions, pd.Timestamp("2012-05-31"))
    assert "champion xgboost fa_AAA_dir_5 v1" in line and "(1 model(s) trained)" in line


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
