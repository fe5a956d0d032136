"""The training report: markdown with metrics, CIs, baselines, importance and folds; PNG plots as bytes.

Figures are drawn on matplotlib's Agg canvas through `Figure` (no pyplot), so nothing global changes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import date2num
from matplotlib.figure import Figure

from financial_assets.models.evaluation import SCORES

BASELINES: tuple[str, ...] = ("majority", "previous_sign", "logistic")
#: fold timeline codes: a sample is trained on, tested, left out between (purged or embargoed), or unused
TRAIN, TEST, EXCLUDED, UNUSED = 1, 2, 3, 0
_COLOURS = {TRAIN: "tab:blue", TEST: "tab:orange", EXCLUDED: "tab:red"}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def reliability_png(y: np.ndarray, probability: np.ndarray, calibrated: np.ndarray, bins: int = 10) -> bytes:
    """Observed up-frequency against mean predicted probability in equal-count bins, raw and calibrated."""
    figure = Figure(figsize=(5, 5))
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
    for name, p in (("raw", probability), ("calibrated", calibrated)):
        keep = np.flatnonzero(np.isfinite(p))
        if len(keep) < bins:
            continue
        chunks = np.array_split(keep[np.argsort(p[keep], kind="stable")], bins)  # ties may straddle two bins
        ax.plot([p[c].mean() for c in chunks], [y[c].mean() for c in chunks], marker="o",
                label=f"{name} (n={len(keep)})")
    ax.set(xlabel="mean predicted P(up)", ylabel="observed up frequency", title="Reliability (out of fold)",
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    return _png(figure)


def fold_codes(n: int, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per sample: TRAIN, TEST, EXCLUDED (between the fold's first and last used sample) or UNUSED."""
    codes = np.full(n, UNUSED)
    used = np.concatenate([train, test])
    if len(used):
        codes[used.min():used.max() + 1] = EXCLUDED
    codes[train], codes[test] = TRAIN, TEST
    return codes


def timeline_png(t0: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """One bar per fold along the dates: train, test and purged/embargoed spans."""
    figure = Figure(figsize=(9, 0.5 * len(splits) + 1.5))
    ax = figure.add_subplot()
    x = date2num(pd.DatetimeIndex(t0).to_pydatetime())
    step = float(np.median(np.diff(np.unique(x)))) if len(np.unique(x)) > 1 else 1.0
    for k, (train, test) in enumerate(splits):
        codes = fold_codes(len(t0), train, test)
        change = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        for start, end in zip(change, np.r_[change[1:], len(codes)], strict=True):
            if codes[start] != UNUSED:
                ax.broken_barh([(x[start], x[end - 1] - x[start] + step)], (k - 0.4, 0.8),
                               color=_COLOURS[int(codes[start])])
    for code, name in ((TRAIN, "train"), (TEST, "test"), (EXCLUDED, "purged / embargoed")):
        ax.bar(0, 0, color=_COLOURS[code], label=name)
    ax.xaxis_date()
    ax.set_xlim(x.min(), x.max() + step)
    ax.set(yticks=range(len(splits)), yticklabels=[f"fold {k}" for k in range(len(splits))], title="Folds")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    return _png(figure)


def _number(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, (float, np.floating)) else str(value)


def render_markdown(title: str, facts: Mapping[str, object], metrics: Mapping[str, float],
                    baselines: Mapping[str, float], importance: pd.DataFrame, folds: pd.DataFrame) -> str:
    """The report: facts, metric table with CIs and baselines, the test against the majority, importance, folds."""
    table = pd.DataFrame([{"metric": m, "model": metrics.get(f"oos_{m}"), "ci_low": metrics.get(f"oos_{m}_ci_low"),
                           "ci_high": metrics.get(f"oos_{m}_ci_high"),
                           **{b: baselines.get(f"baseline_{b}_{m}") for b in BASELINES}} for m in SCORES])
    lines = [f"# {title}", "", *[f"- {k}: {_number(v)}" for k, v in facts.items()], "",
             "## Out-of-fold metrics (95% moving-block bootstrap CI)", "",
             table.to_markdown(index=False, floatfmt=".4f"), "",
             "`auc` is the mean of the outer folds' own AUCs (ranking within each fold), `auc_pooled` the AUC of "
             "every fold's predictions together; the other metrics are pooled.", ""]
    lines += [f"AUC minus {b}'s: {metrics[f'auc_vs_{b}']:+.4f} [{metrics[f'auc_vs_{b}_ci_low']:+.4f}, "
              f"{metrics[f'auc_vs_{b}_ci_high']:+.4f}] (paired)." for b in BASELINES if f"auc_vs_{b}" in metrics]
    lines += [""] if any(f"auc_vs_{b}" in metrics for b in BASELINES) else []
    if "accuracy_vs_majority" in metrics:
        lines += [f"Accuracy minus majority-class accuracy: {metrics['accuracy_vs_majority']:+.4f} "
                  f"[{metrics['accuracy_vs_majority_ci_low']:+.4f}, {metrics['accuracy_vs_majority_ci_high']:+.4f}], "
                  f"one-sided paired block-bootstrap p = {metrics['accuracy_vs_majority_pvalue']:.4f}.", ""]
    calibrated = [f"{m} {metrics[f'oos_calibrated_{m}']:.4f} [{metrics[f'oos_calibrated_{m}_ci_low']:.4f}, "
                  f"{metrics[f'oos_calibrated_{m}_ci_high']:.4f}]" for m in ("log_loss", "brier")
                  if f"oos_calibrated_{m}" in metrics]
    if calibrated:
        lines += ["Served probabilities, forward (each fold's rows as the newest earlier fold's calibrated model "
                  "served them): " + "; ".join(calibrated) + ".", ""]
    lines += ["## Feature importance", "", importance.to_markdown(floatfmt=".4f") if len(importance) else "_none_", "",
              "## Folds", "", folds.to_markdown(index=False, floatfmt=".4f"), ""]
    return "\n".join(lines)
