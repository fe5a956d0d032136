"""Asset metadata for a backtest: an equity and drawdown chart as PNG bytes and a metrics table in markdown."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from financial_assets.backtest.metrics import METRIC_NAMES

_PERCENT = {"total_return", "annualized_return", "annualized_volatility", "max_drawdown", "hit_rate", "exposure",
            "cost_drag"}


def equity_chart_png(result: pd.DataFrame, benchmark: pd.DataFrame | None = None, title: str = "Backtest") -> bytes:
    """Equity (top) and drawdown (bottom) of a ledger, beside an optional benchmark, rendered off-screen by Agg."""
    figure = Figure(figsize=(9, 5.5), dpi=100)
    FigureCanvasAgg(figure)  # no pyplot, no display: the figure owns its Agg canvas
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    dates = pd.to_datetime(result["date"])
    top.plot(dates, result["equity"], label="strategy", color="tab:blue", linewidth=1.2)
    bottom.fill_between(dates, result["drawdown"] * 100, 0, color="tab:blue", alpha=0.35, label="strategy")
    if benchmark is not None:
        bench_dates = pd.to_datetime(benchmark["date"])
        top.plot(bench_dates, benchmark["equity"], label="buy & hold", color="tab:gray", linewidth=1.0)
        bottom.plot(bench_dates, benchmark["drawdown"] * 100, color="tab:gray", linewidth=0.8, label="buy & hold")
    top.set_title(title)
    top.set_ylabel("equity")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def metrics_markdown(strategy: Mapping[str, float], benchmark: Mapping[str, float]) -> str:
    """A markdown table with one row per metric: strategy beside buy-and-hold."""
    lines = ["| metric | strategy | buy & hold |", "| --- | ---: | ---: |"]
    for name in METRIC_NAMES:
        lines.append(f"| {name} | {_format(name, strategy[name])} | {_format(name, benchmark[name])} |")
    return "\n".join(lines) + "\n"


def _format(name: str, value: float) -> str:
    """Percentages for return-like metrics, bars as integers, 3 decimals otherwise."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if name in _PERCENT:
        return f"{value * 100:.2f}%"
    if name in ("max_drawdown_duration", "trades", "n_bars"):
        return f"{value:.0f}"
    return f"{value:.3f}"
