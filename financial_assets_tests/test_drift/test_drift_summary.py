"""The command line's drift summary: the newest report of each ticker, what drifted and why."""

from __future__ import annotations

import pandas as pd

from financial_assets.drift.summary import summary_lines


def _report(ticker: str, date: str, **values) -> dict:
    row = {"ticker": ticker, "date": pd.Timestamp(date), "level": "ok", "reasons": "", "drifted_features": "",
           "drifted_share": 0.0, "monitored_columns": 40, "prediction_drift": False, "realized_auc": 0.52,
           "matured_labels": 120, "oos_auc_ci_low": 0.49, "oos_auc_ci_high": 0.58,
           "registered_model": f"fa_{ticker}_dir_5", "model_version": 3,
           "report_url": f"http://localhost:3030/drift_report/{ticker}/{date}/report.html"}
    return row | values


def test_one_line_per_ticker_from_its_newest_report_naming_what_drifted():
    reports = pd.DataFrame([
        _report("MSFT", "2013-03-01", prediction_drift=pd.NA),  # the predictions were not compared
        _report("AAPL", "2013-03-01", level="error", reasons="dataset_drift", drifted_features="rsi_14,vol_20",
                drifted_share=0.3, prediction_drift=True),
        _report("AAPL", "2013-01-31", level="warn", drifted_features="ret_5", drifted_share=0.025),
    ])
    aapl, msft = summary_lines(reports)
    assert aapl.startswith("AAPL 2013-03-01: ERROR (dataset_drift): drifted rsi_14,vol_20 (30% of 40)")
    assert "prediction drift yes" in aapl and "ret_5" not in aapl
    assert "realized AUC 0.520 over 120 labels vs OOS [0.490, 0.580]" in aapl
    assert aapl.endswith("champion fa_AAPL_dir_5 v3; report "
                         "http://localhost:3030/drift_report/AAPL/2013-03-01/report.html")
    assert msft.startswith("MSFT 2013-03-01: OK: drifted no feature (0% of 40); prediction drift no")


def test_no_reports_no_lines():
    assert summary_lines(pd.DataFrame()) == []
