"""Data-quality alerts: each ticker whose run found rejections the lake did not hold yet gets one alert.

A rejection is the same one when its ticker, date, rule, column and value are: a rerun over a bar
already quarantined (the nightly run rewrites its last sessions) does not alert it again, while a
rejected file is recorded on each run's first date, so a file that stays broken alerts every night.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import dagster as dg
import pandas as pd

from financial_assets.alerts import Alert, AlertDeliveryError
from financial_assets.defs.operations.resources import AlertsResource
from financial_assets.defs.resources import LakeResource
from financial_assets.validation.problems import IDENTITY, TickerProblem
from financial_assets.validation.rules import ERROR


def stored_rows(lake: LakeResource, asset: str, scope: Mapping[str, Collection[pd.Timestamp]]) -> pd.DataFrame:
    """The rows of `asset` a write of `scope` ({ticker: dates}) replaces."""
    days = [pd.Timestamp(d) for dates in scope.values() for d in dates]
    if not days:
        return pd.DataFrame(columns=IDENTITY)
    rows = lake.read(asset, list(scope), start=min(days), end=max(days))
    if rows.empty:
        return rows
    keys = pd.MultiIndex.from_tuples([(t, pd.Timestamp(d)) for t, dates in scope.items() for d in dates])
    return rows.loc[pd.MultiIndex.from_frame(rows[["ticker", "date"]]).isin(keys)].reset_index(drop=True)


def new_rejections(found: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """ERROR records of `found` that `before` did not hold."""
    errors = found.loc[found["severity"] == ERROR] if len(found) else found
    if errors.empty or before.empty:
        return errors.reset_index(drop=True)
    known = pd.MultiIndex.from_frame(before[IDENTITY].astype({"value": str}))
    seen = pd.MultiIndex.from_frame(errors[IDENTITY].astype({"value": str})).isin(known)
    return errors.loc[~seen].reset_index(drop=True)


def rejection_alerts(new: pd.DataFrame, held: Mapping[str, str], url: str) -> list[Alert]:
    """One alert per ticker of `new`: critical when the ticker is held back, else a warning; it names the dates,
    rules and values."""
    alerts = []
    for ticker, found in new.groupby("ticker", sort=True):
        found = found.sort_values("date", kind="stable")
        problem = TickerProblem(ticker, held.get(ticker, ""), found[["date", "rule", "column", "value", "detail"]]
                                .reset_index(drop=True))
        alerts.append(Alert(kind="data_quality", severity="critical" if ticker in held else "warning", ticker=ticker,
                            date=found["date"].iloc[0].date(), message=problem.line(), report_url=url,
                            numbers={"rejected_bars": float(found["date"].nunique())}))
    return alerts


def send_rejection_alerts(context: dg.AssetExecutionContext, alerts: AlertsResource, new: pd.DataFrame,
                          held: Mapping[str, str]) -> None:
    """Send the alerts of `new` rejections; a sink that fails is logged as an error, never fails the run."""
    for alert in rejection_alerts(new, held, alerts.run_url(context.run_id)):
        try:
            context.log.warning(f"{alert.title()}: {alert.message} (alert sent to {alerts.send(alert)})")
        except AlertDeliveryError as failure:
            context.log.error(f"{alert.title()}: {alert.message}; {failure}")
