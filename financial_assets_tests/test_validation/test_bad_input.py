"""Bad input through the real graph: a rejected bar or file affects only its own ticker; nothing is lost silently."""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings

import dagster as dg
import pandas as pd
import pytest

from financial_assets.app.cli import EXIT_REJECTED, main
from financial_assets.core.calendar import trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker
from financial_assets.runs.stages import BARS_JOB, SQL_MODELS_JOB
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.conftest import clean_bars, write_bar_files
from financial_assets_tests.dagster_helpers import check_results, materialized, partition_metadata, run_stage

#: 62 sessions: one rejected bar is 1.6% of a ticker's bars, under the default 5% hold-back threshold
DATES = [d.date().isoformat() for d in trading_sessions("XNYS", "2012-11-30", "2013-03-01")]
FIRST, LAST = DATES[0], DATES[-1]
BAD_DAY = "2013-02-05"
TICKERS = ["ALFA", "BAD", "OMEGA"]


#: every test here reads its bars from a folder of files
pytestmark = pytest.mark.code_location(FA_SOURCE="folder")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FA_SOURCE_DIR", str(tmp_path / "bars"))
    monkeypatch.setenv("FA_BENCHMARK_TICKER", "ALFA")
    return tmp_path / "bars"


def _good(folder, *names: str) -> None:
    write_bar_files(folder, {name: clean_bars(DATES, start_price=50.0 + 10 * i) for i, name in enumerate(names)})


def _run_all(instance) -> tuple:
    bars = run_stage(BARS_JOB, f"{FIRST}|{TICKERS[0]}", f"{LAST}|{TICKERS[-1]}", instance, TICKERS)
    sql = run_stage(SQL_MODELS_JOB, FIRST, LAST, instance)
    return bars, sql


def _tickers_of(instance, run, asset: str) -> set[str]:
    return {key.split("|")[1] for key in materialized(instance, run, asset)}


def test_one_rejected_bar_affects_only_its_own_ticker(folder, data_dir, instance):
    _good(folder, "ALFA", "OMEGA")
    broken = clean_bars(DATES)
    broken.loc[DATES.index(BAD_DAY), ["high", "low"]] = [90.0, 95.0]
    write_bar_files(folder, {"BAD": broken})
    bars, sql = _run_all(instance)
    assert bars.status == sql.status == "SUCCESS", bars.error + sql.error
    lake = ParquetLake(data_dir / "lake")
    hit = lake.read("quarantined_bars").query("rule == 'high_ge_low'")
    assert hit[["ticker", "date", "value"]].values.tolist() == [["BAD", pd.Timestamp(BAD_DAY), "high=90.0 low=95.0"]]
    validated = lake.read("validated_bars")
    rows_kept = {"ALFA": len(DATES), "BAD": len(DATES) - 1, "OMEGA": len(DATES)}
    assert validated.groupby("ticker").size().to_dict() == rows_kept
    # the validated data, without the bar, feeds every downstream asset of every ticker
    for asset in ("features", "labels"):
        assert _tickers_of(instance, bars, asset) == set(TICKERS)
    assert lake.read("training_table").groupby("ticker").size().to_dict() == rows_kept
    bad_partition = partition_metadata(instance, "validated_bars", f"{BAD_DAY}|BAD")
    assert bad_partition["quarantined"].startswith("error high_ge_low")
    assert bad_partition["dagster/row_count"] == 0
    # the check names the ticker, the date, the rule and the value, as a warning: nothing was held back
    assert check_results(bars)["bars_schema_pandera"] == (False, "WARN")
    failures = _check_metadata(instance, "bars_schema_pandera")["failures"]
    assert "BAD" in failures and BAD_DAY in failures and "high_ge_low" in failures and "90.0" in failures


def _check_metadata(instance, check: str) -> dict:
    key = dg.AssetCheckKey(dg.AssetKey("validated_bars"), check)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    evaluation = record.event.dagster_event.event_specific_data
    return {k: v.value for k, v in evaluation.metadata.items()}


def test_a_ticker_past_the_rejection_threshold_is_held_back_and_the_others_go_on(folder, data_dir, instance):
    _good(folder, "ALFA", "OMEGA")
    broken = clean_bars(DATES)
    broken.loc[5:14, "close"] = -1.0  # 10 of 62 bars rejected: 16% > 5%
    write_bar_files(folder, {"BAD": broken})
    bars, sql = _run_all(instance)
    assert bars.status == sql.status == "SUCCESS"
    assert _tickers_of(instance, bars, "validated_bars") == set(TICKERS)  # its good bars are still validated
    for asset in ("features", "labels"):
        assert _tickers_of(instance, bars, asset) == {"ALFA", "OMEGA"}, asset
    lake = ParquetLake(data_dir / "lake")
    assert set(lake.read("features")["ticker"]) == {"ALFA", "OMEGA"}
    assert set(lake.read("training_table")["ticker"]) == {"ALFA", "OMEGA"}
    assert check_results(bars)["bars_schema_pandera"] == (False, "ERROR")
    assert "BAD" in _check_metadata(instance, "bars_schema_pandera")["held_back_tickers"]
    assert "held_back" in partition_metadata(instance, "validated_bars", f"{FIRST}|BAD")


NA_TEXTS = ["null", "n/a", "NaN", "-", ""]


@pytest.mark.parametrize("text", NA_TEXTS)
def test_text_placeholders_are_missing_values_quarantined_as_not_null(text, folder, data_dir, instance):
    _good(folder, "ALFA", "OMEGA")
    csv = clean_bars(DATES).astype(str)
    csv.loc[DATES.index(BAD_DAY), "close"] = text
    write_bar_files(folder, {"BAD": csv})
    bars, _ = _run_all(instance)
    assert bars.status == "SUCCESS"
    hit = ParquetLake(data_dir / "lake").read("quarantined_bars").query("rule == 'not_null'")
    assert hit[["ticker", "date", "column"]].values.tolist() == [["BAD", pd.Timestamp(BAD_DAY), "close"]]


ROW_CASES = {
    "zero_price": (lambda f, i: f.loc.__setitem__((i, "open"), 0.0), "positive_price"),
    "negative_price": (lambda f, i: f.loc.__setitem__((i, "low"), -3.0), "positive_price"),
    "duplicate_timestamp": (lambda f, i: f.loc.__setitem__((i + 1, "date"), BAD_DAY), "unique_timestamp"),
}


@pytest.mark.parametrize("case", sorted(ROW_CASES))
def test_bad_rows_are_quarantined_with_ticker_date_and_rule(case, folder, data_dir, instance):
    edit, rule = ROW_CASES[case]
    frame = clean_bars(DATES)
    edit(frame, DATES.index(BAD_DAY))
    write_bar_files(folder, {"BAD": frame})
    _good(folder, "ALFA", "OMEGA")
    bars, _ = _run_all(instance)
    lake = ParquetLake(data_dir / "lake")
    hit = lake.read("quarantined_bars").query("rule == @rule")
    assert set(hit["ticker"]) == {"BAD"} and pd.Timestamp(BAD_DAY) in set(hit["date"])
    assert set(hit["severity"]) == {"error"}
    assert pd.Timestamp(BAD_DAY) not in set(lake.read("validated_bars").query("ticker == 'BAD'")["date"])
    assert len(lake.read("raw_bars").query("ticker == 'BAD'")) == len(DATES)  # raw data is kept as given
    assert _tickers_of(instance, bars, "features") == set(TICKERS)


def test_a_bar_on_a_holiday_is_quarantined_and_the_rest_of_the_file_is_validated(folder, data_dir, instance):
    frame = clean_bars(sorted(["2013-01-01", *DATES]))  # New Year's Day: no NYSE session
    frame.loc[1 + DATES.index(BAD_DAY), ["high", "low"]] = [90.0, 95.0]  # a real defect later in the file
    write_bar_files(folder, {"BAD": frame})
    _good(folder, "ALFA", "OMEGA")
    bars, _ = _run_all(instance)
    assert bars.status == "SUCCESS"
    quarantine = ParquetLake(data_dir / "lake").read("quarantined_bars").query("ticker == 'BAD'")
    assert sorted(quarantine[["date", "rule", "value"]].values.tolist()) == [
        [pd.Timestamp("2013-01-01"), "trading_session", "2013-01-01"],
        [pd.Timestamp(BAD_DAY), "high_ge_low", "high=90.0 low=95.0"],
        [pd.Timestamp(BAD_DAY), "high_ge_open_close", "90.0"],
    ]
    assert len(ParquetLake(data_dir / "lake").read("validated_bars").query("ticker == 'BAD'")) == len(DATES) - 1


def test_out_of_order_rows_are_quarantined(folder, data_dir, instance):
    i = DATES.index(BAD_DAY)
    order = list(range(len(DATES)))
    order[i], order[i + 1] = order[i + 1], order[i]  # BAD_DAY comes after a later date in the file
    write_bar_files(folder, {"BAD": clean_bars(DATES).iloc[order]})
    _good(folder, "ALFA", "OMEGA")
    _run_all(instance)
    quarantine = ParquetLake(data_dir / "lake").read("quarantined_bars")
    hit = quarantine.loc[quarantine["rule"] == "increasing_timestamps"]
    assert hit[["ticker", "date"]].values.tolist() == [["BAD", pd.Timestamp(BAD_DAY)]]


def test_a_crash_day_warns_but_does_not_hold_back(folder, data_dir, instance):
    frame = clean_bars(DATES)
    frame.loc[DATES.index(BAD_DAY):, ["open", "high", "low", "close"]] *= 0.5  # a -50% day that stays down
    write_bar_files(folder, {"BAD": frame})
    _good(folder, "ALFA", "OMEGA")
    bars, _ = _run_all(instance)
    assert bars.status == "SUCCESS"
    assert check_results(bars) == {"bars_schema_pandera": (True, "WARN"),
                                   "bars_suite_great_expectations": (False, "WARN"),
                                   "features_complete": (True, "WARN")}
    assert _tickers_of(instance, bars, "features") == set(TICKERS)
    quarantine = ParquetLake(data_dir / "lake").read("quarantined_bars")
    assert quarantine[["ticker", "date", "rule", "severity"]].values.tolist() == [
        ["BAD", pd.Timestamp(BAD_DAY), "extreme_return", "warn"]]


FILE_CASES = {
    "missing_file": (None, "file_exists"),
    "empty_file": ("", "non_empty"),
    "header_only": ("date,open,high,low,close,volume\n", "non_empty"),
    "missing_column": ("date,open,high,low,close\n2013-01-02,1,2,0.5,1.5\n", "required_columns"),
    "misnamed_column": ("date,open,high,low,clse,volume\n2013-01-02,1,2,0.5,1.5,10\n", "required_columns"),
    "non_numeric": ("date,open,high,low,close,volume\n2013-01-02,1,2,0.5,abc,10\n", "numeric_values"),
    "mixed_timezones": ("timestamp,open,high,low,close,volume\n2013-01-02T00:00:00-05:00,1,2,0.5,1.5,10\n"
                        "2013-01-03T00:00:00+00:00,1,2,0.5,1.5,10\n", "single_timezone"),
    "future_date": ("date,open,high,low,close,volume\n2013-01-02,1,2,0.5,1.5,10\n"
                    f"{dt.date.today() + dt.timedelta(days=30)},1,2,0.5,1.5,10\n", "date_not_in_future"),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_a_bad_file_fails_its_own_ticker_with_a_quarantine_record_and_the_others_run(case, folder, data_dir, instance):
    content, rule = FILE_CASES[case]
    _good(folder, "ALFA", "OMEGA")
    if content is not None:
        write_bar_files(folder, {"BAD": content})
    bars, sql = _run_all(instance)
    assert bars.status == sql.status == "SUCCESS"
    assert _tickers_of(instance, bars, "raw_bars") == {"ALFA", "OMEGA"}  # BAD's partitions stay unmaterialized
    assert _tickers_of(instance, bars, "features") == {"ALFA", "OMEGA"}
    assert _tickers_of(instance, bars, "quarantined_bars") == set(TICKERS)
    record = ParquetLake(data_dir / "lake").read("quarantined_bars").query("ticker == 'BAD'")
    assert record[["rule", "column", "severity"]].values.tolist() == [[rule, "file", "error"]]
    assert f"[{rule}]" in record["detail"].iloc[0] and "BAD" in record["detail"].iloc[0]
    assert record["value"].iloc[0] == ("folder:BAD" if content is None else "BAD.csv")
    assert set(ParquetLake(data_dir / "lake").read("training_table")["ticker"]) == {"ALFA", "OMEGA"}


@pytest.mark.parametrize("name", ["../x", "AA'PL", 'A"B', "A;DROP TABLE bars", "A|B", "A B", ""])
def test_unsafe_ticker_names_are_refused_before_any_path_or_key_is_built(name):
    with pytest.raises(BarDataError, match=r"\[ticker_safe_identifier\]"):
        normalize_ticker(name)


def test_an_intraday_file_becomes_daily_bars_and_its_rows_are_kept(folder, data_dir, instance):
    hours = pd.date_range("2013-01-02 09:30", periods=7, freq="h")  # New York local time, one session
    frame = pd.DataFrame({"timestamp": hours, "open": [10, 11, 12, 13, 14, 15, 16],
                          "high": [11, 12, 13, 14, 15, 16, 17],
                          "low": [9, 10, 11, 12, 13, 14, 15], "close": [11, 12, 13, 14, 15, 16, 16.5],
                          "volume": [100.0] * 7})
    write_bar_files(folder, {"HOURLY": frame})
    _good(folder, "ALFA")
    run = run_stage(BARS_JOB, "2013-01-02|ALFA", "2013-01-02|HOURLY", instance, ["ALFA", "HOURLY"])
    assert run.status == "SUCCESS"
    lake = ParquetLake(data_dir / "lake")
    daily = lake.read("validated_bars").query("ticker == 'HOURLY'")
    assert daily[["open", "high", "low", "close", "volume"]].values.tolist() == [[10.0, 17.0, 9.0, 16.5, 700.0]]
    kept = lake.read("raw_intraday_bars").query("ticker == 'HOURLY'")
    assert kept["close"].tolist() == frame["close"].tolist()


def test_a_rerun_with_revised_source_values_archives_the_old_raw_bars(folder, data_dir, instance):
    frame = clean_bars(DATES[:5])
    write_bar_files(folder, {"ACME": frame})
    run_stage(BARS_JOB, f"{FIRST}|ACME", f"{DATES[4]}|ACME", instance, ["ACME"])
    before = [partition_metadata(instance, "raw_bars", f"{d}|ACME") for d in DATES[:2]]
    assert all(m["source"] == "ACME.csv" and re.fullmatch(r"[0-9a-f]{16}", m["data_version"]) for m in before)
    revised = frame.copy()
    revised.loc[1, "close"] += 0.25
    write_bar_files(folder, {"ACME": revised})
    assert run_stage(BARS_JOB, f"{FIRST}|ACME", f"{DATES[4]}|ACME", instance).status == "SUCCESS"
    lake = ParquetLake(data_dir / "lake")
    archived = lake.read("raw_bar_revisions")
    assert archived[["ticker", "date", "close"]].values.tolist() == [["ACME", pd.Timestamp(DATES[1]),
                                                                     frame.loc[1, "close"]]]
    assert archived["replaced_at"].notna().all()
    assert lake.read("raw_bars")["close"].tolist() == revised["close"].tolist()
    # the revised bar's partition records a new data version; the bar that did not change keeps its own
    after = [partition_metadata(instance, "raw_bars", f"{d}|ACME")["data_version"] for d in DATES[:2]]
    assert after[0] == before[0]["data_version"] and after[1] != before[1]["data_version"]


def _main(*args: str) -> int:
    """The command line in this process (its warning filter restored afterwards)."""
    with warnings.catch_warnings():
        return main(list(args))


def _alerts(data_dir) -> list[dict]:
    log = data_dir / "alerts" / "alerts.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_rejected_file_makes_materialize_exit_3_with_its_line_and_a_data_quality_alert(folder, data_dir, tmp_path,
                                                                                         monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _good(folder, "ALFA", "OMEGA")
    csv = clean_bars(DATES).astype(str)
    csv.loc[DATES.index(BAD_DAY), "close"] = "oops"
    write_bar_files(folder, {"BAD": csv})
    assert _main("tickers", *TICKERS) == 0
    select = ["materialize", "--select", "raw_bars,validated_bars,quarantined_bars", "--partition-range"]
    assert _main(*select, f"{FIRST}|ALFA...{LAST}|OMEGA") == EXIT_REJECTED
    out = capsys.readouterr().out
    assert "SUCCESS" in out and "rejected data: 1 ticker(s) or file(s)" in out
    assert f"BAD: file rejected, ticker held back: [numeric_values] ticker='BAD' date={BAD_DAY}" in out
    (alert,) = _alerts(data_dir)
    assert (alert["kind"], alert["severity"], alert["ticker"]) == ("data_quality", "critical", "BAD")
    assert "[numeric_values]" in alert["message"] and BAD_DAY in alert["message"] and "'oops'" in alert["message"]
    assert alert["date"] == LAST  # a rejected file is recorded on the run's last date
    # the same broken file again: the exit code still says so, and the same rejection is not alerted twice
    assert _main(*select, f"{DATES[-5]}|ALFA...{LAST}|OMEGA") == EXIT_REJECTED
    assert len(_alerts(data_dir)) == 1
    # good data only: exit 0
    assert _main(*select, f"{FIRST}|ALFA...{LAST}|ALFA") == 0


def test_a_rejected_bar_alerts_once_with_its_ticker_date_rule_and_value(folder, data_dir, instance):
    _good(folder, "ALFA", "OMEGA")
    broken = clean_bars(DATES)
    broken.loc[DATES.index(BAD_DAY), ["high", "low"]] = [90.0, 95.0]
    write_bar_files(folder, {"BAD": broken})
    _run_all(instance)
    (alert,) = _alerts(data_dir)
    assert (alert["kind"], alert["severity"], alert["ticker"], alert["date"]) == ("data_quality", "warning", "BAD",
                                                                                  BAD_DAY)
    assert f"{BAD_DAY} high_ge_low high=90.0 low=95.0" in alert["message"]
    # a rerun over the same bar (as each nightly run rewrites its last sessions) does not alert it again
    run_stage(BARS_JOB, f"{DATES[-30]}|ALFA", f"{LAST}|OMEGA", instance)
    assert len(_alerts(data_dir)) == 1


def _failing_now(instance, check: str) -> str:
    return _check_metadata(instance, check)["failing_now_by_ticker"]


def test_a_run_of_other_tickers_never_turns_a_failing_ticker_green(folder, data_dir, instance):
    _good(folder, "ALFA", "OMEGA")
    broken = clean_bars(DATES)
    broken.loc[DATES.index(BAD_DAY), ["high", "low"]] = [90.0, 95.0]  # pandera rejects the bar
    broken.loc[DATES.index(BAD_DAY) + 5:, ["open", "high", "low", "close"]] *= 0.5  # a -50% day: GX warns
    write_bar_files(folder, {"BAD": broken})
    bars, _ = _run_all(instance)
    checks = ("bars_schema_pandera", "bars_suite_great_expectations")
    assert [check_results(bars)[c][0] for c in checks] == [False, False]
    alone = run_stage(BARS_JOB, f"{FIRST}|ALFA", f"{LAST}|ALFA", instance)
    assert [check_results(alone)[c] for c in checks] == [(False, "WARN"), (False, "WARN")]
    for check in checks:
        assert "BAD" in _failing_now(instance, check) and "ALFA" not in _failing_now(instance, check)
    assert BAD_DAY in str(_check_metadata(instance, "bars_schema_pandera")["failing_rows"])
    # BAD's file fixed and its partitions rerun: every ticker passes
    _good(folder, "BAD")
    fixed = run_stage(BARS_JOB, f"{FIRST}|BAD", f"{LAST}|BAD", instance)
    assert [check_results(fixed)[c][0] for c in checks] == [True, True]


def test_a_rejected_file_keeps_the_check_at_error_until_a_run_reads_it(folder, data_dir, instance):
    _good(folder, "ALFA", "OMEGA")
    write_bar_files(folder, {"BAD": ""})
    bars, _ = _run_all(instance)
    assert check_results(bars)["bars_schema_pandera"] == (False, "ERROR")
    alone = run_stage(BARS_JOB, f"{DATES[-3]}|ALFA", f"{LAST}|OMEGA", instance)
    assert "BAD" not in [key.split("|")[1] for key in materialized(instance, alone, "raw_bars")]
    _good(folder, "BAD")
    assert check_results(run_stage(BARS_JOB, f"{DATES[-3]}|ALFA", f"{LAST}|ALFA", instance))[
        "bars_schema_pandera"] == (False, "ERROR")
    # the next night's run reads the fixed file: its rejection, on the last date, is rewritten
    assert check_results(run_stage(BARS_JOB, f"{DATES[-3]}|BAD", f"{LAST}|BAD", instance))[
        "bars_schema_pandera"] == (True, "WARN")
