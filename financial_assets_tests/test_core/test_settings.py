"""The two binding times of the settings: load-time settings read and checked in `load_settings.py`, run-time
settings read by the resources when a run starts and checked when the code location loads; every FA_* setting the
package reads has its default in `settings.py`."""

from __future__ import annotations

import re
import subprocess
import sys

import dagster as dg
import pandas as pd
import pytest

from financial_assets.definitions import defs
from financial_assets.defs.resources import check_run_settings
from financial_assets.load_settings import load_settings
from financial_assets.settings import DEFAULTS
from financial_assets_tests.paths import ROOT


def test_the_load_time_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("FA_CALENDAR", "XLON")
    monkeypatch.setenv("FA_HISTORY_START", "2012-01-03")
    monkeypatch.setenv("FA_FRESHNESS_GRACE_HOURS", "1.5")
    settings = load_settings()
    assert (settings.calendar, settings.history_start, settings.freshness_grace) == (
        "XLON", "2012-01-03", pd.Timedelta(minutes=90))
    assert settings.fixed_history_end == "2013-03-01"  # the embedded data's last session
    assert settings.history_sessions()[[0, -1]].tolist() == [pd.Timestamp("2012-01-03"), pd.Timestamp("2013-03-01")]
    monkeypatch.setenv("FA_SOURCE", "folder")
    live = load_settings()
    assert live.fixed_history_end is None
    # a live source ends at the newest session closed by now: London closes at 16:30 local time
    assert live.history_end(pd.Timestamp("2024-03-15 16:00", tz="Europe/London")) == "2024-03-14"
    assert live.history_end(pd.Timestamp("2024-03-15 17:00", tz="Europe/London")) == "2024-03-15"


@pytest.mark.parametrize("name, value, message", [
    ("FA_CALENDAR", "XNYZ", "FA_CALENDAR must be an exchange_calendars code"),
    ("FA_HISTORY_START", "2010-1-4", "FA_HISTORY_START must be a date YYYY-MM-DD, got '2010-1-4'"),
    ("FA_HISTORY_END", "1999-12-31", "FA_HISTORY_END 1999-12-31 is before FA_HISTORY_START 2000-03-01"),
    ("FA_FRESHNESS_GRACE_HOURS", "six", "FA_FRESHNESS_GRACE_HOURS must be a number of hours >= 0, got 'six'"),
    ("FA_SOURCE", "ftp", "FA_SOURCE must be one of embedded, folder, yfinance, synthetic, got 'ftp'"),
])
def test_a_wrong_load_time_setting_is_named(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings()


def test_the_documented_defaults_pass_the_run_time_checks():
    check_run_settings(defs.resources)


@pytest.mark.parametrize("name, value, message", [
    ("FA_RETRAIN_CALENDAR", "month_ends", "FA_RETRAIN_CALENDAR must be one of"),
    ("FA_POOLED_MODEL", "yes", "FA_POOLED_MODEL must be true or false"),
    ("FA_TUNING_TRIALS", "four", "FA_TUNING_TRIALS must be a number of trials"),
    ("FA_SEQUENCE_TUNING_TRIALS", "-1", "FA_SEQUENCE_TUNING_TRIALS must be a number of trials"),
    ("FA_TRAINING_WORKERS", "0", "FA_TRAINING_WORKERS must be a positive number"),
    ("FA_MODEL_TYPES", "xgboost,forest", "FA_MODEL_TYPES must name some of"),
    ("FA_SEQUENCE_MODELS_AT", "first", "FA_SEQUENCE_MODELS_AT must be last or all"),
    ("FA_MODEL_LABEL", "dir_x", "dir_x"),
    ("FA_MIN_PAIRED_ROWS", "300", "FA_MIN_PAIRED_ROWS (300) exceeds FA_PAIRED_WINDOW"),
    ("FA_DRIFT_CALENDAR", "monthly", "FA_DRIFT_CALENDAR must be one of"),
    ("FA_BT_BORROW", "maybe", "FA_BT_BORROW must be true or false"),
    ("FA_BT_FILL", "next_opn", "fill must be 'next_open' or 'next_close'"),
    ("FA_BT_MIN_EXPOSURE", "some", "FA_BT_MIN_EXPOSURE"),
    ("FA_MAX_REJECTED_SHARE", "5", "FA_MAX_REJECTED_SHARE must be a fraction from 0 to 1, got '5'"),
    ("FA_FEATURES", "rsi_14,rsi_99", "FA_FEATURES: unknown features ['rsi_99']"),
    ("FA_INTRADAY", "keep", "FA_INTRADAY must be one of aggregate, refuse, got 'keep'"),
    ("FA_ALERT_SINKS", "email:ops@example.com", "alert sink 'email:ops@example.com' must be one of"),
])
def test_a_wrong_run_time_setting_is_named_by_the_checks_the_load_runs(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        check_run_settings(defs.resources)


def test_a_typo_in_a_run_time_setting_fails_the_code_location_load():
    env = {"PATH": "", "FA_RETRAIN_CALENDAR": "month_ends", "DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    done = subprocess.run([sys.executable, "-c", "import financial_assets.definitions"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "FA_RETRAIN_CALENDAR must be one of ['month_end', 'quarter_end', 'weekly', 'year_end'] or auto, got " \
           "'month_ends'" in done.stderr.splitlines()[-1]


def test_every_setting_the_package_reads_has_its_default_in_one_table():
    read = set()
    for path in (ROOT / "financial_assets").rglob("*.py"):
        read |= set(re.findall(r"""(?:EnvVar(?:\.int)?|env)\(\s*["'](FA_[A-Z0-9_]+)["']""", path.read_text()))
    # the backtest family binds each strategy field from FA_BT_<FIELD>
    from financial_assets.defs.backtest.resources import StrategyResource

    read |= {f"FA_BT_{name.upper()}" for name in StrategyResource.model_fields}
    assert read and read - set(DEFAULTS) == set()


def test_a_count_that_is_not_a_number_fails_the_load_naming_its_variable(monkeypatch):
    monkeypatch.setenv("FA_BT_PBO_BLOCKS", "many")  # an int field bound with EnvVar.int: Dagster's own check
    with pytest.raises(dg.DagsterInvalidConfigError, match='"FA_BT_PBO_BLOCKS" cannot be coerced into an int'):
        check_run_settings(defs.resources)


@pytest.mark.code_location()  # the defaults
def test_a_run_uses_the_history_start_and_the_source_the_code_location_loaded_with(monkeypatch):
    from financial_assets.defs.load_time import LOAD
    from financial_assets.defs.resources import resolved_resources

    monkeypatch.setenv("FA_HISTORY_START", "2012-01-03")
    monkeypatch.setenv("FA_SOURCE", "synthetic")
    with resolved_resources() as resources:
        assert (resources["market"].history_start, resources["bar_source"].kind) == ("2000-03-01", "embedded")
    assert (LOAD.history_start, LOAD.source) == ("2000-03-01", "embedded")


@pytest.mark.code_location(FA_SOURCE="synthetic", FA_HISTORY_START="2012-01-03")
def test_a_test_marked_with_load_time_settings_runs_in_a_code_location_loaded_with_them():
    from financial_assets.defs.partitions import trading_date_partitions
    from financial_assets.defs.resources import resolved_resources

    with resolved_resources() as resources:
        assert (resources["market"].history_start, resources["bar_source"].kind) == ("2012-01-03", "synthetic")
    assert trading_date_partitions.get_first_partition_key() == "2012-01-03"


def test_a_marked_test_fails_here_with_the_report_of_its_fresh_interpreter(pytester):
    pytester.makeconftest('pytest_plugins = ["financial_assets_tests.code_location"]')
    pytester.makepyfile(test_marked='''
        import pytest

        @pytest.mark.code_location(FA_HISTORY_START="2012-01-03")
        def test_loaded():
            from financial_assets.defs.load_time import LOAD
            assert LOAD.history_start == "2012-01-03"

        @pytest.mark.code_location(FA_HISTORY_START="2012-01-03")
        def test_planted_failure():
            assert 1 + 1 == 3, "planted in the child"
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*failed (call) in a fresh interpreter loaded with FA_HISTORY_START=2012-01-03*",
                                 "*AssertionError: planted in the child*"])
