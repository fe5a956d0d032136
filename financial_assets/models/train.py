"""Train and evaluate honestly: out-of-fold predictions, per-fold bootstrap metrics, a served model calibrated on
its own out-of-sample outputs.

For each outer fold the tuner and the model see the training rows only (the model's early-stopping
slice and the tuner's inner splits are cut from them, purged); the test rows are predicted once.
Baselines (majority class, previous sign, logistic regression with its untuned defaults) are fitted
on the same training rows and predict the same test rows.

Serving: the live predictor is the newest fold's model (the fold whose test block ends last; with
walk-forward folds, trained on every row but a purged final slice) with a calibrator fitted on its
own predictions for that slice, every label of which is known at the as-of date. No model is
refitted after evaluation, so the probability served comes from the model whose out-of-sample
outputs fitted the calibrator. The out-of-fold `calibrated` column applies the same rule forward:
fold k's rows get what would have been served at fold k's first date, the newest fold whose
training and calibration labels had all ended by then (NaN where none had), with its `base_rate`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from financial_assets.models.base import FoldModel
from financial_assets.models.calibration import Calibrator, fit_calibrator
from financial_assets.models.config import TrainingConfig
from financial_assets.models.dataset import DataDescription, Dataset, Panel, build_dataset
from financial_assets.models.evaluation import default_block_length, evaluate, metric_arrays
from financial_assets.models.importance import FeatureImportance, permutation_importance
from financial_assets.models.registry import make_model, model_class
from financial_assets.models.report import (
    BASELINES,
    EXCLUDED,
    fold_codes,
    reliability_png,
    render_markdown,
    timeline_png,
)
from financial_assets.models.splits import SplitterFactory, embargo_bars, inner_factory, outer_factory
from financial_assets.models.tuning import tune

MIN_ROWS = 100  # fewer labelled rows cannot give a fold anything to learn or a metric any meaning


@dataclass(frozen=True)
class Predictor:
    """The live part of a training run: the served fold model and its calibrator; small enough to ship alone."""

    features: tuple[str, ...]
    model: FoldModel
    calibrator: Calibrator | None
    base_rate: float = 0.5  # the up-rate a served probability is compared with: its calibrator's mean output

    def predict_proba(self, frame: pd.DataFrame, calibrated: bool = True) -> np.ndarray:
        """P(up) per row of `frame` (ticker, date, the features), in its row order; calibrated when possible.

        Sequence models read the `lookback` rows up to each row within `frame`: pass enough history.
        """
        flat = frame.reset_index(drop=True).assign(date=lambda f: pd.to_datetime(f["date"]))
        order = flat.sort_values(["ticker", "date"], kind="stable").index.to_numpy()
        p = self.model.predict_proba(Panel.from_frame(flat.iloc[order], self.features), np.arange(len(order)))
        if calibrated and self.calibrator is not None:
            p = self.calibrator.transform(p)
        out = np.empty(len(order))
        out[order] = p
        return out


@dataclass(frozen=True)
class TrainingResult:
    """Everything a training run produced; `predictor` (model + calibrator) makes the live predictions."""

    config: TrainingConfig
    data: DataDescription
    features: tuple[str, ...]
    model: FoldModel  # the served model: the newest fold's
    calibrator: Calibrator | None  # fitted on the served model's own test-block predictions
    base_rate: float  # the up-rate its calibrated probability is compared with
    oof: pd.DataFrame  # date, ticker, fold, t1, label, probability, calibrated, base_rate, baseline_<name>
    metrics: dict[str, float]  # oos_* with _ci_low/_ci_high, auc_vs_*, accuracy_vs_majority*, served_*
    baselines: dict[str, float]  # baseline_<name>_<score>
    folds: pd.DataFrame  # one row per outer fold
    trials: int  # configurations tried over every search (one per outer fold)
    best_params: dict[str, Any]  # the served model's tuned hyperparameters
    importance: FeatureImportance
    report: str  # markdown
    images: dict[str, bytes]  # reliability.png, fold_timeline.png
    timings: dict[str, float]  # fit_seconds_per_fold, tune_seconds, total_seconds

    @property
    def predictor(self) -> Predictor:
        """The served model with its calibrator and base rate, for live predictions and model registries."""
        return Predictor(self.features, self.model, self.calibrator, self.base_rate)


@dataclass(frozen=True)
class _Fold:
    """What one outer fold produced."""

    model: FoldModel
    params: dict[str, Any]
    probability: np.ndarray
    baselines: dict[str, np.ndarray]
    trials: int
    fit_seconds: float
    tune_seconds: float
    permutation: pd.Series | None
    contributions: pd.DataFrame | None


def _run_fold(config: TrainingConfig, data: Dataset, train: np.ndarray, test: np.ndarray, inner: SplitterFactory,
              seed: int) -> _Fold:
    """Tune, fit and predict one outer fold, with every baseline on the same rows."""
    panel, rows, y, t1 = data.panel, data.rows, data.y, data.t1
    began = time.perf_counter()
    params, trials = tune(config, panel, rows[train], y[train], t1[train], inner, seed)
    tuned = time.perf_counter()
    model = make_model(config, params).fit(panel, rows[train], y[train], t1[train])
    fitted = time.perf_counter()
    probability = model.predict_proba(panel, rows[test])
    kinds = [b for b in BASELINES if b != "previous_sign" or "log_ret_1" in panel.names]
    baselines = {kind: model_class(kind)({}, config).fit(panel, rows[train], y[train], t1[train])
                 .predict_proba(panel, rows[test]) for kind in kinds}
    permutation = (permutation_importance(model, panel, rows[test], y[test], config.permutation_repeats, seed)
                   if config.permutation_repeats > 0 else None)
    contributions = model.contributions(panel, rows[test]) if hasattr(model, "contributions") else None
    return _Fold(model, params, probability, baselines, trials, fitted - tuned, tuned - began, permutation,
                 contributions)


def _fold_table(data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]], folds: list[_Fold]) -> pd.DataFrame:
    """One row per fold: sizes, spans, trials, fit time and the fold's own scores beside its majority baseline."""
    def day(value: np.datetime64) -> str:
        return pd.Timestamp(value).strftime("%Y-%m-%d")

    table = []
    for k, ((train, test), fold) in enumerate(zip(splits, folds, strict=True)):
        scores = metric_arrays(data.y[test], fold.probability)
        majority = metric_arrays(data.y[test], fold.baselines["majority"])["accuracy"][0]
        table.append({"fold": k, "train_rows": len(train), "test_rows": len(test),
                      "excluded_rows": int((fold_codes(len(data.rows), train, test) == EXCLUDED).sum()),
                      "train_first": day(data.t0[train].min()), "train_last": day(data.t0[train].max()),
                      "test_first": day(data.t0[test].min()), "test_last": day(data.t0[test].max()),
                      "trials": fold.trials, "fit_seconds": fold.fit_seconds, "auc": scores["auc"][0],
                      "accuracy": scores["accuracy"][0], "majority_accuracy": majority})
    return pd.DataFrame(table)


def _serving_fold(data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]], before: np.datetime64) -> int | None:
    """The fold whose model could serve at `before`: its training labels and its test block began before it;
    the newest such (latest test end, then most training rows), or None."""
    usable = [(data.t0[test].max(), len(train), k) for k, (train, test) in enumerate(splits)
              if data.t1[train].max() < before and data.t0[test].min() < before]
    return max(usable)[2] if usable else None


def _calibrator(config: TrainingConfig, data: Dataset, split: tuple[np.ndarray, np.ndarray], fold: _Fold,
                before: np.datetime64) -> tuple[Calibrator | None, float]:
    """A fold model's calibrator, fitted on its own test predictions whose labels ended before `before`, and the
    base rate its probabilities are compared with (the fold's training up-rate when there is no calibrator)."""
    train, test = split
    known = data.t1[test] < before
    calibrator = fit_calibrator(fold.probability[known], data.y[test][known], config.calibration,
                                config.min_calibration_rows)
    return calibrator, (calibrator.base_rate if calibrator is not None else float(data.y[train].mean()))


def _served_forward(config: TrainingConfig, data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]],
                    folds: list[_Fold], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated probability, base rate) of fold k's test rows as the serving rule would have made them at the
    fold's first date; NaN where no earlier fold could serve with a calibrator."""
    test = splits[k][1]
    start = data.t0[test].min()
    j = _serving_fold(data, splits, start)
    calibrator, rate = _calibrator(config, data, splits[j], folds[j], start) if j is not None else (None, np.nan)
    if calibrator is None:
        return np.full(len(test), np.nan), np.full(len(test), np.nan)
    served = calibrator.transform(folds[j].model.predict_proba(data.panel, data.rows[test]))
    return served, np.full(len(test), rate)


def _out_of_fold(config: TrainingConfig, data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]],
                 folds: list[_Fold]) -> pd.DataFrame:
    """The out-of-fold records sorted by date, with the forward served probabilities and their base rates."""
    test = np.concatenate([t for _, t in splits])
    served = [_served_forward(config, data, splits, folds, k) for k in range(len(splits))]
    oof = pd.DataFrame({"date": data.t0[test], "ticker": data.panel.tickers[data.rows[test]],
                        "fold": np.repeat(np.arange(len(splits)), [len(t) for _, t in splits]), "t1": data.t1[test],
                        "label": data.y[test], "probability": np.concatenate([f.probability for f in folds]),
                        "calibrated": np.concatenate([c for c, _ in served]),
                        "base_rate": np.concatenate([r for _, r in served])})
    for name in folds[0].baselines:
        oof[f"baseline_{name}"] = np.concatenate([f.baselines[name] for f in folds])
    return oof.sort_values(["date", "ticker", "fold"], kind="stable").reset_index(drop=True)


def _metrics(config: TrainingConfig, data: Dataset, oof: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """Bootstrap metrics of the OOF records, blocks drawn within folds; block length in bars times the rows per
    date of a fold."""
    dates = oof["date"].nunique()
    bars = config.block_length or default_block_length(dates, data.horizon)
    block = max(1, round(bars * len(oof) / oof.groupby(["fold", "date"]).ngroups))
    label, fold = oof["label"].to_numpy(), oof["fold"].to_numpy()
    names = [c for c in oof.columns if c.startswith("baseline_")]
    metrics, baselines = evaluate(label, oof["probability"].to_numpy(),
                                  {c.removeprefix("baseline_"): oof[c].to_numpy() for c in names},
                                  block, config.n_boot, config.seed, fold=fold)
    known = oof["calibrated"].notna().to_numpy()
    if known.any():
        calibrated, _ = evaluate(label[known], oof["calibrated"].to_numpy()[known], {}, block, config.n_boot,
                                 config.seed, prefix="oos_calibrated_", fold=fold[known])
        metrics |= calibrated
    metrics |= {"oos_rows": float(len(oof)), "oos_block_length": float(bars)}
    return metrics, baselines


def _served_metrics(data: Dataset, split: tuple[np.ndarray, np.ndarray], fold: _Fold, calibrator: Calibrator | None,
                    base_rate: float) -> dict[str, float]:
    """The served model on its own test block: its AUC, the spread of what it serves there, and its base rate."""
    served = calibrator.transform(fold.probability) if calibrator is not None else fold.probability
    return {"served_auc": float(metric_arrays(data.y[split[1]], fold.probability)["auc"][0]),
            "served_probability_sd": float(np.std(served)), "base_rate": float(base_rate)}


def _importance(final: FoldModel, data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]],
                folds: list[_Fold]) -> FeatureImportance:
    """Gain of the served model, permutation drops per test fold, contributions of the out-of-fold predictions."""
    permutation = pd.DataFrame({k: f.permutation for k, f in enumerate(folds) if f.permutation is not None},
                               index=list(data.panel.names))
    contributions = None
    if all(f.contributions is not None for f in folds):
        contributions = pd.concat([f.contributions.assign(date=data.t0[test], fold=k,
                                                          ticker=data.panel.tickers[data.rows[test]])
                                   for k, ((_, test), f) in enumerate(zip(splits, folds, strict=True))],
                                  ignore_index=True)
        contributions = contributions[["date", "ticker", "fold", *data.panel.names, "bias"]]
    return FeatureImportance(final.gain() if hasattr(final, "gain") else None, permutation, contributions)


def train_and_evaluate(frame: pd.DataFrame, config: TrainingConfig, as_of: pd.Timestamp | str, *,
                       outer: SplitterFactory | None = None, inner: SplitterFactory | None = None) -> TrainingResult:
    """Out-of-fold evaluation of `config.model_type` on the rows of `frame` known as of `as_of`, and the served model.

    `outer` / `inner` build splitters from label end times (default: `config.cv` and walk-forward from
    `financial_assets.cv`, embargoed by `config.embargo` or the label horizon).
    """
    began = time.perf_counter()
    data = build_dataset(frame, config, as_of)
    data = replace(data, panel=data.panel.select(config.model_features(data.panel.names)))
    if data.description.rows < MIN_ROWS:
        raise ValueError(f"{data.description.rows} labelled rows as of {as_of}: at least {MIN_ROWS} are needed")
    embargo = embargo_bars(config, data.horizon)
    outer = outer or outer_factory(config, embargo)
    inner = inner or inner_factory(config, embargo)
    splits = [(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
              for a, b in outer(data.t1_series()).split(np.zeros((len(data.rows), 1))) if len(a) and len(b)]
    if not splits:
        raise ValueError("the outer splitter produced no fold with both training and test rows")
    folds = [_run_fold(config, data, train, test, inner, config.seed + k) for k, (train, test) in enumerate(splits)]
    oof = _out_of_fold(config, data, splits, folds)
    metrics, baselines = _metrics(config, data, oof)
    after = data.t1.max() + np.timedelta64(1, "ns")  # every label is known: the as-of date's serving rule
    served = _serving_fold(data, splits, after)
    model = folds[served].model
    calibrator, base_rate = _calibrator(config, data, splits[served], folds[served], after)
    metrics |= _served_metrics(data, splits[served], folds[served], calibrator, base_rate)
    importance = _importance(model, data, splits, folds)
    table = _fold_table(data, splits, folds)
    trials = sum(f.trials for f in folds)
    d = data.description
    facts = {"tickers": ", ".join(d.tickers), "label": d.label, "as of": d.as_of.date(),
             "training rows": f"{d.rows} ({d.first_date.date()} to {d.last_date.date()}), hash {d.data_hash}",
             "features": f"{len(data.panel.names)} of {d.features}" + ("" if config.trend_levels else
                                                                      " (trend levels skipped)"),
             "outer cv": f"{config.cv}, {len(splits)} folds, embargo {embargo} bars",
             "out-of-fold rows": len(oof), "bootstrap": f"{config.n_boot} moving blocks of "
             f"{int(metrics['oos_block_length'])} bars", "configurations tried": trials,
             "served model": f"fold {served}, calibrated ({config.calibration}) on its own "
             f"{len(splits[served][1])} test rows" if calibrator is not None else f"fold {served}, uncalibrated "
             f"(fewer than {config.min_calibration_rows} test rows)", "base rate": base_rate}
    title = f"{config.model_type} on {', '.join(d.tickers)}: {d.label} as of {d.as_of.date()}"
    report = render_markdown(title, facts, metrics, baselines, importance.ranking().head(config.top_n), table)
    timings = {"fit_seconds_per_fold": float(np.mean([f.fit_seconds for f in folds])),
               "tune_seconds": float(sum(f.tune_seconds for f in folds)), "total_seconds": time.perf_counter() - began}
    return TrainingResult(config, d, data.panel.names, model, calibrator, base_rate, oof, metrics, baselines, table,
                          trials, folds[served].params, importance, report, _images(data, splits, oof), timings)


def _images(data: Dataset, splits: list[tuple[np.ndarray, np.ndarray]], oof: pd.DataFrame) -> dict[str, bytes]:
    """The report's PNGs: reliability of the out-of-fold probabilities and the fold timeline."""
    return {"reliability.png": reliability_png(*(oof[c].to_numpy() for c in ("label", "probability", "calibrated"))),
            "fold_timeline.png": timeline_png(data.t0, splits)}


def predict(result: TrainingResult, features: pd.DataFrame, calibrated: bool = True) -> pd.Series:
    """P(up) for every row of `features` (ticker, date and the trained feature columns), aligned to its index."""
    return pd.Series(result.predictor.predict_proba(features, calibrated), index=features.index, name="probability")
