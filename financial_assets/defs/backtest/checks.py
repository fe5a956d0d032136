"""A check on backtest, once per run: the run's metrics beside buy-and-hold, the equity chart, and the alarms.

Its metadata is the run's backtest in the UI: per ticker the range's and the whole out-of-sample
history's metrics table beside buy-and-hold (exposure and trades included), PSR, deflated Sharpe and
PBO (PSR and DSR replaced by "unreliable" when the exposure or the trades are too few to read them),
the champions that traded, and the equity and drawdown chart (embedded PNG); a summary line per
ticker; the alarms. It reads what the asset wrote (backtest_metrics at the run's last date, the chart
artefact) and computes nothing.
"""

import base64

import dagster as dg
import pandas as pd

from financial_assets.backtest import BacktestConfig, metrics_markdown
from financial_assets.backtest.metrics import METRIC_NAMES
from financial_assets.backtest.track_record import HISTORY, MODEL, RANGE
from financial_assets.defs.backtest.assets import CHART
from financial_assets.defs.partitions import dates_by_ticker
from financial_assets.defs.resources import LakeResource

#: a deflated Sharpe ratio above DSR_ALARM from models whose OOS AUC lies within CHANCE_AUC of 0.5: too good to be true
DSR_ALARM, CHANCE_AUC = 0.95, 0.03
#: an annualised Sharpe ratio above SHARPE_BOUND, net of costs, over at least a year of bars: a skill-free daily
#: strategy's annualised Sharpe has a standard error of about 1 over a year, and honest single-name daily AUCs are
#: 0.50-0.52, so this is a 3-sigma fluke or a leak
SHARPE_BOUND, YEAR = 3.0, BacktestConfig().bars_per_year
PBO_ALARM = 0.5
#: a serving champion in the market on fewer or more of its sessions than these trades the base rate, not its edge
#: (never or always in), judged over at least EXPOSURE_SESSIONS sessions
EXPOSURE_BOUNDS, EXPOSURE_SESSIONS = (0.05, 0.95), 20
#: tickers shown in full (alarmed ones first); every ticker gets a summary line
DETAILED = 20


def _listed(table: pd.DataFrame, empty: str) -> dg.MetadataValue:
    """A markdown table, dates as days."""
    if table.empty:
        return dg.MetadataValue.md(empty)
    days = {c: table[c].dt.strftime("%Y-%m-%d") for c in table.columns
            if pd.api.types.is_datetime64_any_dtype(table[c])}
    return dg.MetadataValue.md(table.assign(**days).to_markdown(index=False, floatfmt=".3f"))


def _alarms(row: pd.Series) -> list[str]:
    """What is suspicious about one backtest_metrics row."""
    found = []
    if row["pbo"] >= PBO_ALARM:
        found.append(f"PBO {row['pbo']:.2f} >= {PBO_ALARM}")
    if row["sharpe_reliable"] and row["deflated_sharpe"] > DSR_ALARM and abs(row["oos_auc"] - 0.5) < CHANCE_AUC:
        found.append(f"deflated Sharpe {row['deflated_sharpe']:.3f} > {DSR_ALARM} with OOS AUC {row['oos_auc']:.3f}")
    if row["sharpe"] > SHARPE_BOUND and row["n_bars"] >= YEAR:
        found.append(f"Sharpe {row['sharpe']:.2f} > {SHARPE_BOUND} over {row['n_bars']:.0f} bars")
    low, high = EXPOSURE_BOUNDS
    if row["period"] == MODEL and row["n_bars"] >= EXPOSURE_SESSIONS and not low <= row["exposure"] <= high:
        found.append(f"exposure {row['exposure']:.1%} of {row['n_bars']:.0f} sessions outside {low:.0%}..{high:.0%}: "
                     "the serving model trades its base rate, not its edge")
    return found


def detailed_tickers(table: pd.DataFrame) -> list[str]:
    """The tickers of a run's backtest_metrics rows the check shows in full (with the chart): alarmed ones first, then
    by name, DETAILED at most."""
    history = table.loc[table["period"] == HISTORY] if len(table) else table
    alarmed = {row.ticker for _, row in table.iterrows() if _alarms(row)}
    return sorted(history["ticker"] if len(history) else [], key=lambda t: (t not in alarmed, t))[:DETAILED]


def _evidence_only(table: pd.DataFrame, reliable: pd.Series) -> pd.DataFrame:
    """`table` with its deflated Sharpe replaced by "unreliable" where it is no evidence."""
    shown = table.astype({"deflated_sharpe": object})
    shown.loc[~reliable.astype(bool), "deflated_sharpe"] = "unreliable"
    return shown


def _statistics_line(row: pd.Series) -> str:
    if pd.isna(row["model_version"]):
        return "no champion: no position, no statistics"
    evidence = (f"PSR {row['psr']:.3f} · deflated Sharpe {row['deflated_sharpe']:.3f}" if row["sharpe_reliable"]
                else f"PSR and deflated Sharpe unreliable: in the market {row['exposure']:.1%} of bars, "
                f"{row['trades']:.0f} trades")
    return (f"{evidence} ({row['n_trials']} configurations tried, V[SR] {row['trial_sharpe_variance']:.3g} across "
            f"{row['trial_configurations']} measured) · PBO {row['pbo']:.3f} ({row['pbo_configurations']} "
            f"configurations x {row['pbo_bars']} out-of-fold bars of the models as of {row['model_as_of']:%Y-%m-%d})")


def _section(title: str, row: pd.Series) -> str:
    strategy = {name: row[name] for name in METRIC_NAMES}
    benchmark = {name: row[f"bh_{name}"] for name in METRIC_NAMES}
    return (f"### {title}, {row['first_date']:%Y-%m-%d} to {row['last_date']:%Y-%m-%d}\n\n"
            f"{metrics_markdown(strategy, benchmark)}\n{_statistics_line(row)}\n")


def _ticker_markdown(lake: LakeResource, ticker: str, rows: pd.DataFrame) -> str:
    """Range and history tables, the champions that traded, and the chart of one ticker."""
    parts = [_section(f"{ticker}: {name}", rows.loc[rows["period"] == period].iloc[0])
             for period, name in ((RANGE, "the run's range"), (HISTORY, "whole out-of-sample history"))
             if (rows["period"] == period).any()]
    champions = rows.loc[rows["period"] == MODEL, ["registered_model", "model_version", "first_date", "last_date",
                                                     "sharpe", "bh_sharpe", "total_return", "bh_total_return",
                                                     "exposure", "trades", "deflated_sharpe", "pbo", "mlflow_run_id"]]
    champions = _evidence_only(champions, rows.loc[rows["period"] == MODEL, "sharpe_reliable"])
    parts.append("### champions that traded in the range, over the sessions each predicted\n\n"
                 + _listed(champions, "_none_").value + "\n")
    png = lake.artifacts.read("backtest", ticker, rows["date"].iloc[0], CHART)
    parts.append(f"![equity and drawdown](data:image/png;base64,{base64.b64encode(png).decode()})")
    return "\n".join(parts)


@dg.asset_check(asset="backtest", blocking=False,
                description=f"Once per run, per ticker: the range's and the whole out-of-sample history's metrics "
                "beside buy-and-hold (exposure and trades included), PSR, deflated Sharpe (or 'unreliable' below "
                "FA_BT_MIN_EXPOSURE or FA_BT_MIN_TRADES), PBO and the equity chart (from backtest_metrics and the "
                f"chart artefact). WARN when PBO >= {PBO_ALARM}, when a reliable deflated Sharpe exceeds {DSR_ALARM} "
                f"from models whose OOS AUC is within {CHANCE_AUC} of chance, when the annualised Sharpe exceeds "
                f"{SHARPE_BOUND} over a year or more (numbers too good to be true), or when a serving champion's "
                f"exposure over {EXPOSURE_SESSIONS}+ sessions lies outside {EXPOSURE_BOUNDS[0]:.0%}.."
                f"{EXPOSURE_BOUNDS[1]:.0%} (it trades the base rate, not its edge).")
def backtest_not_too_good_to_be_true(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Alarms on each run ticker's newest backtest numbers that are too good to be true, with the summary beside."""
    wanted = dates_by_ticker(context.op_execution_context.partition_keys)
    last = {ticker: dates[-1] for ticker, dates in wanted.items()}
    table = lake.read("backtest_metrics", list(wanted), start=min(last.values()), end=max(last.values()))
    if len(table):
        table = table.loc[table["date"] == table["ticker"].map(last)].reset_index(drop=True)
    alarms = pd.DataFrame([{"ticker": row.ticker, "period": row.period, "model_version": row.model_version,
                            "first_date": row.first_date, "last_date": row.last_date, "alarm": alarm}
                           for _, row in table.iterrows() for alarm in _alarms(row)],
                          columns=["ticker", "period", "model_version", "first_date", "last_date", "alarm"])
    history = table.loc[table["period"] == HISTORY] if len(table) else table
    summary = history[["ticker", "first_date", "last_date", "total_return", "bh_total_return", "sharpe", "bh_sharpe",
                       "exposure", "trades", "deflated_sharpe", "n_trials", "pbo"]] if len(history) else history
    summary = _evidence_only(summary, history["sharpe_reliable"]) if len(history) else summary
    shown = detailed_tickers(table)
    metadata = {"tickers_backtested": dg.MetadataValue.int(len(history)), "alarms": _listed(alarms, "_none_"),
                "summary": _listed(summary, "_no ticker had a prediction to trade_"),
                **{ticker: dg.MetadataValue.md(_ticker_markdown(lake, ticker, table.loc[table["ticker"] == ticker]))
                   for ticker in shown}}
    return dg.AssetCheckResult(passed=alarms.empty, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)
