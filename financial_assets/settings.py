"""Every setting of the project, read from environment variables; defaults live here and only here."""

from __future__ import annotations

import os

#: Environment variable -> default. `dagster dev`, the command line, the benchmarks and the tests all read these.
DEFAULTS: dict[str, str] = {
    # where the Parquet lake, artefacts and the MLflow store live
    "FA_DATA_DIR": "data",
    # bar source: embedded | folder | yfinance | synthetic
    "FA_SOURCE": "embedded",
    # folder of <TICKER>.csv / <TICKER>.parquet files, for FA_SOURCE=folder
    "FA_SOURCE_DIR": "",
    # comma-separated tickers for the yfinance source (embedded, folder and synthetic list their own)
    "FA_TICKERS": "",
    # first trading date of the partition set: the whole embedded history by default
    "FA_HISTORY_START": "2000-03-01",
    # last trading date of the partition set; empty: the source's last session (the embedded data
    # ends on 2013-03-01; live sources end at the last session that has closed)
    "FA_HISTORY_END": "",
    # exchange calendar: any exchange_calendars code (XNYS, XLON, ...), 24/5 (spot FX) or 24/7 (crypto)
    "FA_CALENDAR": "XNYS",
    # ticker the cross-asset features use as the market; empty: the source's own default (IBM for
    # the embedded data, the first synthetic ticker), else it must be named
    "FA_BENCHMARK_TICKER": "",
    # seed and size of the synthetic source
    "FA_SYNTHETIC_SEED": "7",
    "FA_SYNTHETIC_TICKERS": "20",
    # comma-separated feature names; empty means the registry's default set
    "FA_FEATURES": "",
    # a ticker whose share of rejected bars in a run exceeds this is held back from downstream assets
    "FA_MAX_REJECTED_SHARE": "0.05",
    # files with times of day: aggregate them to daily bars by session, or refuse them
    "FA_INTRADAY": "aggregate",
    # Dagster: hand partitioned events to the event log in batches (see financial_assets/runs/event_log_storage.py)
    "DAGSTER_EVENT_BATCH_SIZE": "50000",
    # --- models (financial_assets/defs/models) ---
    # MLflow tracking server URL; empty: the embedded sqlite store under FA_DATA_DIR/mlflow
    "FA_MLFLOW_TRACKING_URI": "",
    # the MLflow UI that metadata and alerts link runs to, as a browser reaches it (`mlflow ui -p 5000` on the
    # embedded store, the compose mlflow service)
    "FA_MLFLOW_UI_URL": "http://localhost:5000",
    # as-of dates models retrain at in a multi-date run: month_end | quarter_end | year_end | weekly
    # (the last session of each period), or auto: month_end for a run spanning up to a year, quarter_end up to
    # 8 years, year_end beyond (financial_assets/models/asof.py); a run over one date trains at that date
    "FA_RETRAIN_CALENDAR": "auto",
    # the label models predict: dir_<h> (dir_1, dir_5, dir_20) or tb_label (triple barrier); dir_1: see the README
    "FA_MODEL_LABEL": "dir_1",
    # comma-separated model types: xgboost, logistic, lstm, transformer (the baselines are always evaluated)
    "FA_MODEL_TYPES": "xgboost",
    # true: one model pooled over the run's tickers; false: one model per ticker
    "FA_POOLED_MODEL": "false",
    # torch sequence models (lstm, transformer) train at the run's last as-of date only (last) or at every one (all)
    "FA_SEQUENCE_MODELS_AT": "last",
    # Optuna trials per search of xgboost and logistic; empty: their default (0: tuning measured no gain, README)
    "FA_TUNING_TRIALS": "",
    # Optuna trials per search of the torch models; empty: their default (0). A trial costs minutes per ticker on CPU
    "FA_SEQUENCE_TUNING_TRIALS": "",
    # processes that train models side by side (each fit uses one thread); empty: the machine's cores
    "FA_TRAINING_WORKERS": "",
    # --- promotion (financial_assets/models/promotion.py) ---
    # out-of-fold rows a model needs to pass the gate (its AUC interval is about +-0.05 at 500)
    "FA_MIN_CHAMPION_OOS_ROWS": "500",
    # sessions after its as-of date at which a champion is retired at the next decision (the newest gated model
    # takes over, else none serves): about a year, so yearly retraining replaces it every year
    "FA_MAX_CHAMPION_AGE": "240",
    # most recent out-of-sample rows, with labels ended, on which a new model is compared with the champion
    "FA_PAIRED_WINDOW": "250",
    # fewest paired rows that comparison needs; with fewer the champion stays
    "FA_MIN_PAIRED_ROWS": "100",
    # --- backtest (financial_assets/defs/backtest); defaults are BacktestConfig's ---
    # fills: next_open | next_close (the signal is known at a close and fills at the next bar)
    "FA_BT_FILL": "next_open",
    # entry on the edge p - base rate (the up-rate of the champion's training labels): long_flat: long when the edge
    # exceeds FA_BT_THRESHOLD, else flat; long_short: also short when it is below -FA_BT_THRESHOLD
    "FA_BT_MODE": "long_flat",
    "FA_BT_THRESHOLD": "0.02",
    # sizing: fixed (|weight| = FA_BT_FRACTION) | vol_target (FA_BT_TARGET_VOL a year over FA_BT_VOL_WINDOW bars) |
    # kelly (FA_BT_KELLY_FRACTION x |2p - 1|); vol_target and kelly are capped at FA_BT_MAX_LEVERAGE
    "FA_BT_SIZING": "fixed",
    "FA_BT_FRACTION": "1.0",
    "FA_BT_TARGET_VOL": "0.10",
    "FA_BT_VOL_WINDOW": "20",
    "FA_BT_KELLY_FRACTION": "0.5",
    "FA_BT_MAX_LEVERAGE": "1.0",
    # false: no buy takes cash below zero at its fill price plus costs (a larger one is shrunk); true: cash may go
    # negative (interest-free margin)
    "FA_BT_BORROW": "false",
    # costs per side of every fill: commission on traded value, half the spread, and impact x shares / bar volume
    "FA_BT_COMMISSION_BPS": "1.0",
    "FA_BT_HALF_SPREAD_BPS": "2.0",
    "FA_BT_IMPACT": "0.1",
    # exits as fractions of the entry price; empty: none
    "FA_BT_STOP_LOSS": "",
    "FA_BT_TAKE_PROFIT": "",
    # edge thresholds evaluated beside the configured one for the probability of backtest overfitting and the spread
    # of trial Sharpe ratios in the deflated Sharpe ratio, and the most CSCV blocks PBO cuts their returns into
    "FA_BT_THRESHOLD_GRID": "0,0.01,0.02,0.03,0.05",
    "FA_BT_PBO_BLOCKS": "16",
    # PSR and DSR are marked unreliable (not evidence) below this share of bars in the market or number of trades
    "FA_BT_MIN_EXPOSURE": "0.05",
    "FA_BT_MIN_TRADES": "10",
    # --- drift and operations (financial_assets/defs/drift, financial_assets/defs/operations) ---
    # sessions of features, ending at the partition's date, that a drift report compares with the champion's reference
    "FA_DRIFT_WINDOW": "20",
    # dates a multi-date run reports drift at, besides its last date: weekly | month_end | quarter_end | year_end
    # (the last session of each period), or last (its last date only); a run over one date always reports it
    "FA_DRIFT_CALENDAR": "month_end",
    # matured labels of the champion's own predictions its realized AUC is measured over (drift reports, and the
    # promotion rule's decay check)
    "FA_DRIFT_PERFORMANCE_WINDOW": "120",
    # sessions after a retraining request for a ticker during which its drift failures request none
    "FA_RETRAIN_COOLDOWN_SESSIONS": "5",
    # where alerts go: comma-separated jsonl:<path>, webhook:<url>, slack:<webhook url>;
    # empty: the JSONL log FA_DATA_DIR/alerts/alerts.jsonl
    "FA_ALERT_SINKS": "",
    # the Dagster UI that alerts link runs and assets to
    "FA_DAGSTER_URL": "http://localhost:3000",
    # where a browser reaches FA_DATA_DIR/artifacts served over HTTP (the report server:
    # python -m financial_assets.defs.drift.report_server; compose's service reports): metadata and alerts link there
    "FA_ARTIFACTS_URL": "http://localhost:3030",
    # the nightly schedule's cron, in the calendar's time zone; it launches the session that closed that day
    "FA_NIGHTLY_CRON": "0 18 * * *",
    # hours after a session's close by which its validated bars must exist (freshness)
    "FA_FRESHNESS_GRACE_HOURS": "6",
}


def apply_env_defaults() -> None:
    """Fill unset variables with their defaults so `dagster.EnvVar` always resolves."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)


def env(name: str) -> str:
    """The value of one setting: the environment first, then the default."""
    return os.environ.get(name, DEFAULTS[name])
