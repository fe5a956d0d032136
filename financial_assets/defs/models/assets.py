"""cv_folds, trained_model and predictions: models trained as of retrain dates, the promotion decisions, and the
daily predictions of the model that serves.

Partition D|T of cv_folds and trained_model is ticker T's model *as of* D: trained on T's
training_table rows whose label ended by D (`financial_assets.models.build_dataset`), never a later
row. A run over several dates trains only at its retrain dates (FA_RETRAIN_CALENDAR) and reports
only those partitions; a run over a single date trains at that date. Each new model is judged by the
promotion rule (`financial_assets.models.promotion`) at its as-of date, on what was known then, and
its row records which version serves from that date on (none when no model passed the gate).
Partition D|T of predictions is the prediction made at D's close by the version serving after T's
newest decision taken strictly before D, with the newest model's probability beside it in shadow
when that model does not serve; a date with neither (before T's first model, or without a feature
row) has no prediction and is not materialized.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

import dagster as dg
import numpy as np
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.core.frames import concat
from financial_assets.defs.models.evidence import LOOKBACK, Judge, predict_dates
from financial_assets.defs.models.ledger import model_facts, model_rows, oof_rows
from financial_assets.defs.models.metadata import fold_metadata, model_metadata
from financial_assets.defs.models.resources import (
    MlflowResource,
    ModelStoreResource,
    PromotionResource,
    TrainingResource,
)
from financial_assets.defs.models.tracking import log_training, record, register, sync_aliases
from financial_assets.defs.partitions import bar_key
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.defs.ticker_date import TickerDates, Written, ticker_date_asset
from financial_assets.models import Predictor, TrainingConfig, TrainingResult, is_label_column
from financial_assets.models.asof import model_types_at, training_dates
from financial_assets.models.champions import chain_of, serving
from financial_assets.models.config import POOLED
from financial_assets.models.folds import FOLD_COLUMNS, as_of_folds
from financial_assets.models.parallel import TrainingTask, train_in_order
from financial_assets.runs.stages import NIGHTLY_TAG, SQL_MODELS_JOB

GROUP = "models"
#: models read every training_table date up to their as-of date and predictions read every earlier model: Dagster
#: has no "every earlier date" mapping, and mapping each date of a range one by one costs seconds (see sql_models)
_EARLIER = dg.AllPartitionMapping()


@dataclass(frozen=True)
class _Plan:
    """What a run of cv_folds or trained_model does: its partitions, the as-of dates it trains at, the units."""

    wanted: dict[str, pd.DatetimeIndex]
    dates: pd.DatetimeIndex
    units: dict[str, list[str]]  # a ticker -> [that ticker], or POOLED -> the run's tickers

    @property
    def scope(self) -> dict[str, pd.DatetimeIndex]:
        """The lake partitions the run replaces: every ticker of the run at every as-of date."""
        return {ticker: self.dates for ticker in self.wanted}


def _plan(run: TickerDates, market: MarketResource, training: TrainingResource) -> _Plan:
    dates = training_dates(run.dates, training.retrain_dates(market.sessions(), run.dates),
                           calendar_only=NIGHTLY_TAG in run.context.run.tags)
    if dates.empty:
        run.context.log.info(f"no {training.calendar(run.dates)} retrain date between {run.dates[0].date()} and "
                             f"{run.dates[-1].date()}")
    units = {POOLED: run.tickers} if training.is_pooled() else {ticker: [ticker] for ticker in run.wanted}
    return _Plan(run.wanted, dates, units)


def _config(training: TrainingResource, model_type: str, unit: str) -> TrainingConfig:
    return training.config(model_type, None if unit == POOLED else unit)


@lru_cache(maxsize=1)
def _requirements() -> tuple[str, ...]:
    """The pip requirements logged with every model: they depend on the predictor's class only (seconds to find)."""
    from financial_assets.tracking.pyfunc import default_requirements

    return tuple(default_requirements(Predictor((), None, None)))


def _model_name(unit: str, label: str) -> str:
    from financial_assets.tracking import registered_model_name

    return registered_model_name(unit, label)


def _unit_rows(lake: LakeResource, plan: _Plan) -> dict[str, pd.DataFrame]:
    """training_table rows up to the last as-of date of each unit's tickers (the table holds every ticker)."""
    if plan.dates.empty:
        return {}
    table = lake.read("training_table", end=plan.dates.max())
    if table.empty:
        raise BarDataError("upstream_materialized", "training_table has no rows: materialize the SQL models "
                           f"({SQL_MODELS_JOB}) first", ticker=next(iter(plan.wanted)), date=plan.dates.max().date())
    return {unit: table.loc[table["ticker"].isin(tickers)].reset_index(drop=True)
            for unit, tickers in plan.units.items()}


@ticker_date_asset(
    deps=[dg.AssetDep("training_table", partition_mapping=_EARLIER)],
    group=GROUP,
    description="The outer cross-validation of the model as of D: for every sample of the training set (the "
    "ticker's rows whose label ended by D), its role in each fold (train, test, purged, embargoed), keyed by ticker "
    "and as-of date, the sample's own date in sample_date. Built at the run's retrain dates only "
    "(FA_RETRAIN_CALENDAR; a single-date run builds that date); trained_model evaluates on exactly these folds.",
)
def cv_folds(run: TickerDates, lake: LakeResource, market: MarketResource, training: TrainingResource) -> Written:
    """The outer folds of every unit at each retrain date of the run."""
    plan = _plan(run, market, training)
    frames, tables, metadata = _unit_rows(lake, plan), [], {}
    for as_of in plan.dates:
        for unit, frame in frames.items():
            try:
                folds = as_of_folds(frame, _config(training, training.types()[0], unit), as_of)
            except BarDataError as error:
                run.context.log.warning(f"cv_folds: no folds, so no model: {error}")
                continue
            tables.append(folds.table)
            metadata |= fold_metadata(folds, plan.units[unit])
    return Written.per_metadata(concat(tables, FOLD_COLUMNS), plan.scope, metadata)


def _example(frame: pd.DataFrame, result: TrainingResult) -> pd.DataFrame:
    """The last rows known at the as-of date, as the logged model takes them: ticker, date and float features."""
    known = frame.loc[frame["date"] <= result.data.as_of].sort_values(["date", "ticker"]).tail(5)
    return known[["ticker", "date", *result.features]].astype({f: "float64" for f in result.features})


def _training_tasks(context: dg.AssetExecutionContext, lake: LakeResource, plan: "_Plan",
                    frames: dict[str, pd.DataFrame], training: TrainingResource) -> list[TrainingTask]:
    """Every model the run trains, as-of date by as-of date and unit by unit, with the folds stored for it."""
    tasks = []
    for as_of in plan.dates:
        stored = lake.read("cv_folds", list(plan.wanted), start=as_of, end=as_of)
        for unit, frame in frames.items():
            folds = stored.loc[stored["ticker"].isin(plan.units[unit])] if len(stored) else stored
            if folds.empty:
                context.log.info(f"trained_model: [cv_folds_built] ticker={unit!r} date={as_of.date()}: no folds "
                                 "stored for this as-of date (too few rows, see cv_folds): no model")
                continue
            tasks += [TrainingTask(frame, _config(training, model_type, unit), as_of, folds)
                      for model_type in model_types_at(as_of, plan.dates, training.types(),
                                                       training.sequence_at_every_date())]
    return tasks


def _unit_of(task: TrainingTask) -> str:
    """The unit a task trains: its ticker, or POOLED."""
    return POOLED if task.config.pooled else task.config.ticker


@ticker_date_asset(
    deps=[dg.AssetDep("cv_folds"), dg.AssetDep("training_table", partition_mapping=_EARLIER)],
    group=GROUP,
    kinds={"mlflow"},
    description="The model of the ticker as of D (FA_MODEL_TYPES, default xgboost; torch models only at the run's last "
    "as-of date unless FA_SEQUENCE_MODELS_AT=all), trained on the rows whose FA_MODEL_LABEL ended by D, evaluated out "
    "of fold on cv_folds beside the majority, previous-sign and logistic baselines, refitted, logged to MLflow "
    "(a FINISHED run, signature and input example), registered as `fa_<ticker>_<label>`, and judged by the promotion "
    "rule at D: the gate (OOS AUC CI low above 0.5, AUC above the naive baselines, FA_MIN_CHAMPION_OOS_ROWS), the "
    "champion's retirement at FA_MAX_CHAMPION_AGE sessions or on decay, and a paired comparison with the champion on "
    "the same recent out-of-sample rows. A row per model: MLflow run, version, OOS AUC with its 95% block-bootstrap "
    "CI and the baselines, the decision with its numbers and the version serving from D on (serving_version; none "
    "when nothing passed the gate), trials, the data's dates, rows and hash. The MLflow alias champion follows the "
    "serving version. The predictor is stored as an artefact, the out-of-fold predictions in the lake table "
    "oof_predictions. Built at retrain dates only (FA_RETRAIN_CALENDAR).",
)
def trained_model(run: TickerDates, lake: LakeResource, market: MarketResource, training: TrainingResource,
                  promotion: PromotionResource, mlflow: MlflowResource, model_store: ModelStoreResource) -> Written:
    """Train, log, register, store and judge every model of the run, as-of date by as-of date."""
    context, plan = run.context, _plan(run, market, training)
    frames = _unit_rows(lake, plan)
    store = mlflow.store() if frames else None
    known = lake.read("trained_model", list(plan.wanted))
    if len(known):  # the run replaces its as-of dates: their old models leave the chain
        known = known.loc[~known["date"].isin(plan.dates)].reset_index(drop=True)
    judge = Judge(lake, frames, market.sessions(), promotion.policy(), training.label, model_store.loader())
    tasks = _training_tasks(context, lake, plan, frames, training)
    written, oof, metadata, names = [], [], {}, set()
    outcomes = train_in_order(tasks, training.training_workers())
    for (as_of, unit), group in groupby(outcomes, key=lambda pair: (pair[0].as_of, _unit_of(pair[0]))):
        results, rows = [], []
        for task, result in group:
            if isinstance(result, str):  # the unit's data cannot give a model at this date: none of its models
                context.log.error(f"trained_model: [trainable_rows] ticker={unit!r} date={as_of.date()} "
                                  f"model={task.config.model_type}: no model: {result}")
                break
            model_type, name = task.config.model_type, _model_name(unit, training.label)
            run_id, model_uri = log_training(store, result, _example(task.frame, result), unit=unit, as_of=as_of,
                                             dagster_run_id=context.run.run_id, requirements=list(_requirements()))
            chain = chain_of(known, name)
            version = register(store, model_uri, name, result, chain)
            model_store.save_model(result.predictor, unit, as_of, model_type)
            facts = model_facts(result, version, run_id, model_uri, unit, name)
            decision = judge.decide(unit, name, chain, facts, result)
            record(store, name, decision)
            judge.remember(name, version, result)
            model = model_rows(facts, decision, plan.units[unit])
            known = concat([known, model], model.columns)
            results.append(result)
            rows.append(model)
            oof.append(oof_rows(result, model))
            names.add(name)
            context.log.info(f"trained_model: {unit} as of {as_of.date()}: {model_type} v{version}: {decision.kind}, "
                             f"serving {decision.serving or 'none'} ({decision.reason})")
        if results:
            written.append(concat(rows, []))
            metadata |= model_metadata(results, written[-1], mlflow.ui_url.strip())
    lake.write("oof_predictions", concat(oof, ["ticker", "date"]), plan.scope)
    for name in sorted(names):
        sync_aliases(store, name, chain_of(known, name))
    return Written.per_metadata(concat(written, ["ticker", "date"]), plan.scope, metadata)


def _served(predictors: Callable[[pd.Series], Predictor], chain: pd.DataFrame, positions: pd.Series,
            features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """P(up) at each date of `positions` (chain position of the model making it, -1 for none: NaN), and the base rate
    it is compared with (the predictor's base_rate)."""
    probability, base_rate = np.full(len(positions), np.nan), np.full(len(positions), np.nan)
    for position in np.unique(positions[positions >= 0]):
        served = np.flatnonzero(positions.to_numpy() == position)
        predictor = predictors(chain.iloc[position])
        probability[served] = predict_dates(predictor, features, pd.DatetimeIndex(positions.index[served]))
        base_rate[served] = predictor.base_rate
    return probability, base_rate


@ticker_date_asset(
    deps=[dg.AssetDep("trained_model", partition_mapping=_EARLIER),
          dg.AssetDep("training_table", partition_mapping=_EARLIER)],
    group=GROUP,
    description="The prediction made at D's close: P(up) of FA_MODEL_LABEL from the ticker's features at D by the "
    "model serving after the ticker's newest promotion decision taken before D (trained_model's serving_version), "
    "with the base rate it is compared with (the serving predictor's base_rate), and the newest model's probability "
    "beside it in shadow when that model does not serve, so its live record builds up. When no model passed the "
    "gate, the row holds no champion probability (no position) and only the shadow one. Dates with neither (before "
    "the first model, or without a feature row) have no prediction and are not materialized.",
)
def predictions(run: TickerDates, lake: LakeResource, market: MarketResource, training: TrainingResource,
                model_store: ModelStoreResource) -> Written:
    """Each date's prediction by the model serving then, with the newest model's beside it in shadow."""
    wanted, first, last = run.wanted, run.dates[0], run.last
    sessions = market.sessions()
    table = lake.read("training_table", start=sessions[max(sessions.searchsorted(first) - LOOKBACK, 0)], end=last)
    features = table[[c for c in table.columns if not is_label_column(str(c))]]  # nothing after D's close
    trained = lake.read("trained_model", list(wanted), end=last)
    predictors = model_store.loader()
    parts, metadata = [], {}
    for ticker, dates in wanted.items():
        name = _model_name(POOLED if training.is_pooled() else ticker, training.label)
        chain = chain_of(trained.loc[trained["ticker"] == ticker] if len(trained) else trained, name)
        serve = serving(chain, dates)
        if (serve[["champion", "challenger"]] < 0).all(axis=None):
            run.context.log.info(f"predictions: {ticker}: no {name} model trained before {dates[-1].date()}: "
                             "no prediction")
            continue
        mine = features.loc[features["ticker"] == ticker].reset_index(drop=True) if len(features) else features
        champion = chain.reindex(serve["champion"].to_numpy()).reset_index(drop=True)
        challenger = chain.reindex(serve["challenger"].to_numpy()).reset_index(drop=True)
        probability, base_rate = _served(predictors, chain, serve["champion"], mine)
        out = pd.DataFrame({
            "ticker": ticker, "date": dates, "registered_model": name,
            "model_type": champion["model_type"].astype("string"),
            "model_version": champion["model_version"].astype("Int64"), "model_as_of": champion["date"],
            "probability": probability, "base_rate": base_rate,
            "challenger_model_type": challenger["model_type"].astype("string"),
            "challenger_version": challenger["model_version"].astype("Int64"), "challenger_as_of": challenger["date"],
            "challenger_probability": _served(predictors, chain, serve["challenger"], mine)[0]})
        out = out.loc[out["probability"].notna() | out["challenger_probability"].notna()]
        parts.append(out)
        for row in out.itertuples():
            meta = {"champion": dg.MetadataValue.text(
                "no champion" if pd.isna(row.model_version)
                else f"{row.model_type} v{row.model_version} as of {row.model_as_of:%Y-%m-%d}")}
            meta |= {k: dg.MetadataValue.float(v) for k, v in (("probability", row.probability),
                     ("base_rate", row.base_rate), ("challenger_probability", row.challenger_probability))
                     if pd.notna(v)}
            metadata[bar_key(row.date, ticker)] = meta
        if len(out) < len(dates):
            run.context.log.info(f"predictions: {ticker}: {len(dates) - len(out)} of {len(dates)} dates have no model "
                             "trained before them (or no feature row): not materialized")
    return Written.per_metadata(concat(parts, ["ticker", "date"]), wanted, metadata)
