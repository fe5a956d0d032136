"""The DVC pipeline (dvc.yaml, params.yaml) runs the project's stages through its command line.

The fast tests check dvc.yaml against the asset graph without DVC: every stage selects assets of one
Dagster stage job with a partition range of the right shape, writes its assets' lake folders, and
depends only on folders an earlier stage writes. The slow test runs `dvc repro` for real, from DVC's
own environment (.venv-dvc: `make dvc-env`; DVC pins an antlr4 runtime that breaks Dagster), on a
copy of the repository with a small window, then `dvc metrics show` and `dvc status`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from financial_assets.app.dvc_metrics import STAGES, write_metrics
from financial_assets.backtest.track_record import HISTORY
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.fixtures.deploy.services import ROOT, require
from financial_assets_tests.synthetic_bars import planted_edge_files

DVC = ROOT / ".venv-dvc" / "bin" / "dvc"
LAKE = "data/lake/"


@pytest.fixture(scope="module")
def pipeline() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def _resolve(text: str, values: dict) -> str:
    """DVC's `${a.b}` / `${a[0]}` interpolation, enough to read the commands."""
    def one(match: re.Match) -> str:
        node = values
        for part in re.findall(r"[^.\[\]]+", match.group(1)):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert not isinstance(node, (list, dict)), f"{match.group(0)} is not a scalar"
        return str(node)
    return re.sub(r"\$\{([^}]+)\}", one, text)


def _commands(stage: dict, values: dict) -> list[str]:
    commands = stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]
    return [_resolve(c, values) for c in commands]


def _materialize(command: str) -> tuple[list[str], str]:
    select = re.search(r"--select (\S+)", command).group(1).split(",")
    return select, re.search(r'--partition-range "([^"]+)"', command).group(1)


def test_every_stage_materializes_one_dagster_stage_and_tracks_its_lake_folders(pipeline, params):
    import dagster as dg

    from financial_assets.definitions import defs
    from financial_assets.runs.stages import plan_stages

    values = {**params, **{k: v for entry in pipeline["vars"] for k, v in entry.items()}}
    stage_of = {k.to_user_string(): s for s in plan_stages(defs) for k in s.asset_keys}
    written: set[str] = set()
    for name, stage in pipeline["stages"].items():
        commands = _commands(stage, values)
        (materialize,) = [c for c in commands if "financial-assets materialize" in c]
        assets, partition_range = _materialize(materialize)
        assert {stage_of[a].index for a in assets} == {stage_of[assets[0]].index}, f"{name}: one Dagster stage"
        first, last = partition_range.split("...")
        if isinstance(stage_of[assets[0]].partitions_def, dg.MultiPartitionsDefinition):
            assert (first, last) == (f"{params['history']['start']}|{params['universe']['first']}",
                                     f"{params['history']['end']}|{params['universe']['last']}")
        else:
            assert (first, last) == (params["history"]["start"], params["history"]["end"])
        # the command writes where the outs are, whatever FA_DATA_DIR the shell has
        assert "FA_DATA_DIR=data " in materialize and materialize.startswith("env ")
        outs = {o if isinstance(o, str) else next(iter(o)) for o in stage["outs"]}
        assert {LAKE + a for a in assets} <= outs, f"{name}: every selected asset's folder is an out"
        data_deps = {d for d in stage["deps"] if d.startswith(LAKE)}
        assert data_deps <= written, f"{name} depends on {sorted(data_deps - written)}, which no earlier stage writes"
        assert all((ROOT / d).exists() for d in stage["deps"] if not d.startswith(LAKE)), name
        written |= outs
        (metrics,) = [c for c in commands if "financial_assets.app.dvc_metrics" in c]
        assert f"dvc_metrics {name} " in metrics and f"--out metrics/{name}.json" in metrics
        assert [next(iter(m)) for m in stage["metrics"]] == [f"metrics/{name}.json"]
        for param in stage["params"]:  # a whole section or one key of it (`universe.benchmark`)
            section, _, key = param.partition(".")
            assert section in params and (not key or key in params[section]), f"{name}: {param}"
    assert list(pipeline["stages"]) == list(STAGES)


def test_the_parameters_name_sessions_and_the_ends_of_the_ticker_list(params):
    import exchange_calendars as xcals

    calendar = xcals.get_calendar("XNYS")
    assert calendar.is_session(params["history"]["start"]) and calendar.is_session(params["history"]["end"])
    tickers = params["universe"]["tickers"].split()
    assert (params["universe"]["first"], params["universe"]["last"]) == (tickers[0], tickers[-1])


def _lake(root: Path) -> ParquetLake:
    lake = ParquetLake(root)
    dates = pd.to_datetime(["2013-01-02", "2013-01-03", "2013-01-04"])
    raw = pd.DataFrame({"ticker": ["AAPL"] * 3 + ["IBM"] * 3, "date": list(dates) * 2, "close": [1.0] * 6})
    lake.write("raw_bars", raw, {"AAPL": dates, "IBM": dates})
    good = raw.iloc[:5].assign(corporate_action=[False, True, False, False, False])
    lake.write("validated_bars", good, {"AAPL": dates, "IBM": dates})
    bad = pd.DataFrame({"ticker": ["IBM", "IBM"], "date": [dates[2]] * 2, "rule": ["high_ge_low", "stale_price"],
                        "severity": ["ERROR", "WARN"]})
    lake.write("quarantined_bars", bad, {"IBM": [dates[2]]})
    labels = raw[["ticker", "date"]].assign(dir_5=[1.0, 0.0, None, 1.0, 1.0, None])
    lake.write("labels", labels, {"AAPL": dates, "IBM": dates})
    return lake


def test_the_metrics_count_what_the_lake_holds(tmp_path):
    lake = _lake(tmp_path / "lake")
    ingest = write_metrics("ingest", lake.root, tmp_path / "metrics" / "ingest.json")
    assert json.loads((tmp_path / "metrics" / "ingest.json").read_text()) == ingest
    assert ingest == {"rows": 6, "tickers": 2, "first_date": "2013-01-02", "last_date": "2013-01-04",
                      "bars_by_ticker": {"AAPL": 3, "IBM": 3}, "source_rejections": 0}
    validate = write_metrics("validate", lake.root, tmp_path / "validate.json")
    assert (validate["rows"], validate["raw_rows"], validate["rejected_share"]) == (5, 6, round(1 / 6, 6))
    assert (validate["quarantine_error"], validate["quarantine_warn"], validate["corporate_actions"]) == (1, 1, 1)
    assert validate["quarantine_by_rule"] == {"high_ge_low": 1, "stale_price": 1}
    labels = write_metrics("labels", lake.root, tmp_path / "labels.json")
    assert labels["dir_5_up_share"] == 0.75 and labels["null_share"] == round(2 / 6, 6)
    with pytest.raises(ValueError, match="unknown stage"):
        write_metrics("drift", lake.root, tmp_path / "x.json")


def test_the_metrics_say_when_no_champion_serves(tmp_path):
    """A ticker whose models all failed the gate: its predictions hold only the shadow probability, its backtest
    a history row with no position and no PBO, and no ledger."""
    lake = ParquetLake(tmp_path / "lake")
    dates = pd.to_datetime(["2012-12-31", "2013-01-02"])
    model = pd.DataFrame({"ticker": ["IBM"], "date": dates[:1], "model_type": ["logistic"], "alias": ["challenger"],
                          "serving_version": pd.array([pd.NA], dtype="Int64"), "oos_auc": [0.51],
                          "oos_auc_ci_low": [0.47], "oos_auc_ci_high": [0.55]})
    lake.write("trained_model", model, {"IBM": dates[:1]})
    shadow = pd.DataFrame({"ticker": ["IBM"], "date": dates[1:], "model_version": pd.array([pd.NA], dtype="Int64"),
                           "probability": [float("nan")], "challenger_probability": [0.53]})
    lake.write("predictions", shadow, {"IBM": dates[1:]})
    history = pd.DataFrame({"ticker": ["IBM"], "date": dates[1:], "period": [HISTORY], "registered_model": [None],
                            "model_version": pd.array([pd.NA], dtype="Int64"), "n_bars": [1], "total_return": [0.0],
                            "pbo": [float("nan")], "bh_total_return": [0.01]})
    lake.write("backtest_metrics", history, {"IBM": dates[1:]})
    train = write_metrics("train", lake.root, tmp_path / "train.json")
    assert (train["models"], train["champions"], train["served_predictions"]["rows"]) == (1, 0, 0)
    assert train["predictions"]["rows"] == 1
    assert train["newest_model"]["IBM/logistic"]["serving_version"] is None
    backtest = write_metrics("backtest", lake.root, tmp_path / "backtest.json")
    assert backtest["ledger"]["rows"] == 0
    assert backtest["history"]["IBM"]["model"] == "no champion" and backtest["history"]["IBM"]["pbo"] is None
    assert backtest["history"]["IBM"]["bh_total_return"] == 0.01


def _copy_project(target: Path, pipeline: dict) -> None:
    """What dvc.yaml reads: itself, params.yaml and the code it depends on; the project's venv linked."""
    deps = {d for s in pipeline["stages"].values() for d in s["deps"] if not d.startswith(LAKE)}
    for path in sorted(deps | {"dvc.yaml", "params.yaml"}):
        source, dest = ROOT / path, target / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest)
    (target / ".venv").symlink_to(ROOT / ".venv")


#: the slow test's window: two tickers from 2011 whose bars (a folder source under DVC's project) carry a planted
#: edge, one untuned logistic model per ticker and year end. The 2011-12-30 models (about 205 out-of-fold rows, under
#: the 300 asked) fail the promotion gate and predict 2012 in shadow only; the 2012-12-31 ones (about 410) find the
#: edge, pass the gate and are the champions that predict and trade 2013
TICKERS = ("ARA", "ARB")
SMALL = {"history": {"start": "2011-01-03"}, "source": {"kind": "folder", "dir": "bars"},
         "universe": {"tickers": " ".join(TICKERS), "first": TICKERS[0], "last": TICKERS[-1], "benchmark": TICKERS[0]},
         "model": {"model_types": "logistic", "retrain_calendar": "year_end", "tuning_trials": 0,
                   "min_champion_oos_rows": 300}}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dvc_repro_runs_every_stage_and_shows_their_metrics(tmp_path, pipeline):
    require(DVC.exists(), "DVC's environment .venv-dvc", "make dvc-env")
    project = tmp_path / "project"
    project.mkdir()
    _copy_project(project, pipeline)
    small = yaml.safe_load((project / "params.yaml").read_text())
    for section, values in SMALL.items():
        small[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(small))
    planted_edge_files(project / "bars", TICKERS, "2009-06-01", small["history"]["end"])  # with warm-up bars
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    env.pop("FA_DATA_DIR")  # the stages set their own

    def dvc(*args: str, timeout: int = 540) -> str:
        done = subprocess.run([str(DVC), *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"dvc {' '.join(args)}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done.stdout

    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    dvc("init", "-q")
    with (project / ".dvcignore").open("a") as ignore:
        ignore.write(".venv/\n.*.lock\n")
    dvc("repro")
    metrics = json.loads(dvc("metrics", "show", "--json"))
    shown = next(iter(metrics.values()))["data"]
    by_file = {path: entry["data"] for path, entry in shown.items()}
    import exchange_calendars as xcals

    calendar = xcals.get_calendar("XNYS")
    sessions = len(calendar.sessions_in_range(SMALL["history"]["start"], small["history"]["end"]))
    sessions_2013 = len(calendar.sessions_in_range("2013-01-01", small["history"]["end"]))
    assert by_file["metrics/ingest.json"]["rows"] == by_file["metrics/validate.json"]["rows"] == 2 * sessions
    assert by_file["metrics/features.json"]["features"] > 0 and by_file["metrics/labels.json"]["rows"] == 2 * sessions
    assert by_file["metrics/sql.json"]["training_table"]["rows"] == 2 * sessions
    # a model per ticker at each of the two year ends; the 2012 ones are champions and predict every 2013 session, the
    # 2011 ones predict 2012 in shadow
    train = by_file["metrics/train.json"]
    assert (train["models"], train["as_of_dates"], train["champions"]) == (4, 2, 2), train
    sessions_2012 = len(calendar.sessions_in_range("2012-01-01", "2012-12-31"))
    assert train["predictions"] == {"rows": 2 * (sessions_2012 + sessions_2013), "tickers": 2,
                                    "first_date": "2012-01-03", "last_date": small["history"]["end"]}
    assert train["served_predictions"] == {"rows": 2 * sessions_2013, "tickers": 2, "first_date": "2013-01-02",
                                           "last_date": small["history"]["end"]}
    for ticker in TICKERS:
        newest = train["newest_model"][f"{ticker}/logistic"]
        assert (newest["as_of"], newest["alias"], newest["serving_version"]) == ("2012-12-31", "champion", 2)
        assert 0.5 < newest["oos_auc_ci_low"] <= newest["oos_auc"] <= newest["oos_auc_ci_high"]
        assert newest["oos_rows"] >= SMALL["model"]["min_champion_oos_rows"]
    # the backtest trades those predictions and reports the history beside buy-and-hold
    backtest = by_file["metrics/backtest.json"]
    assert backtest["ledger"]["rows"] == 2 * sessions_2013
    assert set(backtest["history"]) == set(TICKERS)
    for ticker, numbers in backtest["history"].items():
        assert numbers["model"] == f"fa_{ticker}_dir_1 v2" and numbers["n_bars"] == sessions_2013
        assert numbers["bh_total_return"] is not None
        assert 0.0 <= numbers["pbo"] <= 1.0 and numbers["max_drawdown"] <= 0.0, numbers
    assert (project / "dvc.lock").exists() and (project / ".dvc" / "cache").is_dir()
    assert "up to date" in dvc("status")
    # a parameter change marks the stages that read it, and only those: the SQL models take dates alone
    small["universe"]["tickers"] = " ".join([TICKERS[0], "ARC", TICKERS[1]])
    (project / "params.yaml").write_text(yaml.safe_dump(small))
    assert set(json.loads(dvc("status", "--json"))) == {"ingest", "validate", "features", "labels", "train", "backtest"}
