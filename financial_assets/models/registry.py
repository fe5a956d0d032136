"""Model types by name; torch is imported only when a sequence model is asked for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from financial_assets.models.base import FoldModel
from financial_assets.models.config import SEQUENCE_MODELS, TrainingConfig


def model_class(model_type: str) -> type:
    """The class implementing `model_type` (one of config.MODEL_TYPES)."""
    if model_type in SEQUENCE_MODELS:
        from financial_assets.models.sequence import LSTMModel, TransformerModel

        return LSTMModel if model_type == "lstm" else TransformerModel
    from financial_assets.models import tabular

    classes = {"xgboost": tabular.XGBoostModel, "logistic": tabular.LogisticModel,
               "majority": tabular.MajorityModel, "previous_sign": tabular.PreviousSignModel}
    return classes[model_type]


def is_tunable(model_type: str) -> bool:
    """Whether the model has hyperparameters to search (the baselines have none)."""
    return hasattr(model_class(model_type), "suggest")


def make_model(config: TrainingConfig, params: Mapping[str, Any] | None = None) -> FoldModel:
    """A fresh, unfitted `config.model_type`: `config.params` overridden by `params` (tuned values)."""
    return model_class(config.model_type)({**config.params, **(params or {})}, config)
