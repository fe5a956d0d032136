"""The models family's resources: the MLflow store, the store of trained predictors, what to train (label, model
types, calendar, tuning), and the numbers of the promotion rule."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import RETRAIN_PERIODS, retrain_sessions
from financial_assets.defs.resources import DATA_DIR, RESOURCES, LakeResource
from financial_assets.models import Predictor
from financial_assets.models.asof import AUTO, retrain_calendar_of
from financial_assets.models.config import MODEL_TYPES, SEQUENCE_MODELS, TrainingConfig
from financial_assets.models.dataset import label_source
from financial_assets.models.parallel import worker_count
from financial_assets.models.promotion import Policy

if TYPE_CHECKING:  # MLflow takes a second to import: only runs that train load it
    from financial_assets.tracking import MlflowStore

#: model types a user may name in FA_MODEL_TYPES; the baselines are evaluated beside every one of them
TRAINABLE = tuple(t for t in MODEL_TYPES if t not in ("majority", "previous_sign"))


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry: the server at `tracking_uri`, or the embedded sqlite store in `data_dir`/mlflow."""

    tracking_uri: str
    data_dir: str
    ui_url: str  # FA_MLFLOW_UI_URL: where a browser opens a run; empty: no link in the metadata

    def store(self) -> MlflowStore:
        """The store with the project's experiment created if needed."""
        from financial_assets.tracking import mlflow_uris

        return mlflow_uris(self.data_dir, tracking_uri=self.tracking_uri.strip() or None)


class ModelStoreResource(dg.ConfigurableResource):
    """The trained predictors, one per trained_model row (unit, as-of date, model type), kept as artefacts of
    trained_model beside the lake: trained_model saves them; predictions and the promotion rule load them."""

    lake: LakeResource

    def save_model(self, predictor: Predictor, unit: str, as_of: pd.Timestamp, model_type: str) -> Path:
        """Store the predictor of `unit`'s `model_type` model as of `as_of`, replacing an earlier run's."""
        return self.lake.store_artifact("trained_model", unit, as_of, f"{model_type}.pkl", pickle.dumps(predictor))

    def load_model(self, unit: str, as_of: pd.Timestamp, model_type: str) -> Predictor:
        """The stored predictor of `unit`'s `model_type` model as of `as_of`."""
        return pickle.loads(self.lake.artifacts.read("trained_model", unit, as_of, f"{model_type}.pkl"))

    def loader(self) -> Callable[[pd.Series], Predictor]:
        """The predictor of a trained_model row, each loaded once by the loader: one loader per run, since a rerun
        of an as-of date replaces its models."""
        loaded: dict[tuple[str, pd.Timestamp, str], Predictor] = {}

        def load(model: pd.Series) -> Predictor:
            key = (model["unit"], model["date"], model["model_type"])
            if key not in loaded:
                loaded[key] = self.load_model(*key)
            return loaded[key]

        return load


class TrainingResource(dg.ConfigurableResource):
    """What the model assets train: label, model types, per ticker or pooled, retrain calendar, tuning trials."""

    label: str
    model_types: str
    pooled: str  # EnvVar binds text: "true" or "false"
    retrain_calendar: str
    sequence_models_at: str
    tuning_trials: str  # xgboost and logistic; empty: each model type's default
    sequence_tuning_trials: str  # lstm and transformer; empty: each model type's default (0)
    workers: str  # processes training models side by side; empty: the machine's cores

    def types(self) -> tuple[str, ...]:
        """The configured model types, checked, in the order given."""
        names = tuple(dict.fromkeys(n.strip() for n in self.model_types.split(",") if n.strip()))
        unknown = [n for n in names if n not in TRAINABLE]
        if not names or unknown:
            raise ValueError(f"FA_MODEL_TYPES must name some of {TRAINABLE}, got {self.model_types!r}")
        return names

    def is_pooled(self) -> bool:
        """FA_POOLED_MODEL: one model over the run's tickers."""
        value = self.pooled.strip().lower()
        if value not in ("true", "false"):
            raise ValueError(f"FA_POOLED_MODEL must be true or false, got {self.pooled!r}")
        return value == "true"

    def sequence_at_every_date(self) -> bool:
        """FA_SEQUENCE_MODELS_AT: torch models at every as-of date (all) or at the run's last one (last)."""
        if self.sequence_models_at not in ("last", "all"):
            raise ValueError(f"FA_SEQUENCE_MODELS_AT must be last or all, got {self.sequence_models_at!r}")
        return self.sequence_models_at == "all"

    def training_workers(self) -> int:
        """FA_TRAINING_WORKERS, checked."""
        return worker_count(self.workers)

    def calendar(self, run_dates: pd.DatetimeIndex) -> str:
        """The retrain calendar of a run over `run_dates`: FA_RETRAIN_CALENDAR, or the one `auto` picks for the span."""
        return retrain_calendar_of(self.retrain_calendar, run_dates)

    def retrain_dates(self, sessions: pd.DatetimeIndex, run_dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """The retrain dates, among the calendar's sessions, of a run over `run_dates`."""
        return retrain_sessions(sessions, self.calendar(run_dates))

    def trials(self, model_type: str) -> int | None:
        """FA_TUNING_TRIALS (FA_SEQUENCE_TUNING_TRIALS for the torch models): Optuna trials, None for the default."""
        name, setting = (("FA_SEQUENCE_TUNING_TRIALS", self.sequence_tuning_trials) if model_type in SEQUENCE_MODELS
                         else ("FA_TUNING_TRIALS", self.tuning_trials))
        if not setting.strip():
            return None
        if not setting.strip().isdigit():
            raise ValueError(f"{name} must be a number of trials >= 0 or empty, got {setting!r}")
        return int(setting)

    def config(self, model_type: str, ticker: str | None) -> TrainingConfig:
        """The training configuration of `model_type` for one ticker, or pooled over the frame's tickers (None)."""
        label_source(self.label)  # a clear error for an unknown FA_MODEL_LABEL
        return TrainingConfig(model_type=model_type, label=self.label, ticker=ticker, pooled=ticker is None,
                              tuning_trials=self.trials(model_type))

    def check_settings(self) -> None:
        """Every training setting, checked as a run would read it."""
        label_source(self.label)
        for check in (self.types, self.is_pooled, self.sequence_at_every_date, self.training_workers):
            check()
        for model_type in (TRAINABLE[0], SEQUENCE_MODELS[0]):
            self.trials(model_type)
        if self.retrain_calendar not in (*RETRAIN_PERIODS, AUTO):
            raise ValueError(f"FA_RETRAIN_CALENDAR must be one of {sorted(RETRAIN_PERIODS)} or {AUTO}, "
                             f"got {self.retrain_calendar!r}")


class PromotionResource(dg.ConfigurableResource):
    """The promotion rule's numbers (`financial_assets.models.promotion`)."""

    min_oos_rows: int  # out-of-fold rows a model needs to pass the gate
    max_age: int  # sessions after which the champion is retired at the next decision
    paired_window: int  # most recent paired out-of-sample rows a challenger is compared with the champion on
    min_paired_rows: int  # fewest paired rows a comparison needs
    decay_window: int  # matured labels of the champion's own predictions its realized AUC is measured over

    def policy(self) -> Policy:
        """The rule's numbers, checked."""
        return Policy(min_oos_rows=self.min_oos_rows, max_age=self.max_age, paired_window=self.paired_window,
                      min_paired_rows=self.min_paired_rows, decay_window=self.decay_window)

    def check_settings(self) -> None:
        """The rule's numbers, checked by `Policy`."""
        self.policy()


@dg.definitions
def resources() -> dg.Definitions:
    """Binds the models family's resources from their FA_* settings."""
    return dg.Definitions(resources={
        "mlflow": MlflowResource(tracking_uri=dg.EnvVar("FA_MLFLOW_TRACKING_URI"), data_dir=DATA_DIR,
                                 ui_url=dg.EnvVar("FA_MLFLOW_UI_URL")),
        "model_store": ModelStoreResource(lake=RESOURCES["lake"]),
        "training": TrainingResource(
            label=dg.EnvVar("FA_MODEL_LABEL"), model_types=dg.EnvVar("FA_MODEL_TYPES"),
            pooled=dg.EnvVar("FA_POOLED_MODEL"), retrain_calendar=dg.EnvVar("FA_RETRAIN_CALENDAR"),
            sequence_models_at=dg.EnvVar("FA_SEQUENCE_MODELS_AT"), tuning_trials=dg.EnvVar("FA_TUNING_TRIALS"),
            sequence_tuning_trials=dg.EnvVar("FA_SEQUENCE_TUNING_TRIALS"), workers=dg.EnvVar("FA_TRAINING_WORKERS")),
        "promotion": PromotionResource(
            min_oos_rows=dg.EnvVar.int("FA_MIN_CHAMPION_OOS_ROWS"), max_age=dg.EnvVar.int("FA_MAX_CHAMPION_AGE"),
            paired_window=dg.EnvVar.int("FA_PAIRED_WINDOW"), min_paired_rows=dg.EnvVar.int("FA_MIN_PAIRED_ROWS"),
            decay_window=dg.EnvVar.int("FA_DRIFT_PERFORMANCE_WINDOW")),
    })
