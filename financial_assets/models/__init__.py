"""Model training and honest evaluation: datasets as of a date, fold-fitted models, OOF metrics with CIs.

Plain Python: nothing here knows of Dagster or MLflow. Torch loads only for the sequence models.
"""

from financial_assets.models.calibration import Calibrator, fit_calibrator
from financial_assets.models.config import MODEL_TYPES, TrainingConfig
from financial_assets.models.dataset import (
    DataDescription,
    Dataset,
    Panel,
    build_dataset,
    is_label_column,
    label_source,
)
from financial_assets.models.evaluation import block_bootstrap, default_block_length, evaluate, fold_auc, metric_arrays
from financial_assets.models.importance import FeatureImportance
from financial_assets.models.registry import make_model
from financial_assets.models.splits import Splitter, SplitterFactory
from financial_assets.models.train import Predictor, TrainingResult, predict, train_and_evaluate

__all__ = ["MODEL_TYPES", "Calibrator", "DataDescription", "Dataset", "FeatureImportance", "Panel", "Predictor",
           "TrainingConfig", "Splitter", "SplitterFactory", "TrainingResult", "block_bootstrap", "build_dataset",
           "default_block_length", "evaluate", "fit_calibrator", "fold_auc", "is_label_column", "label_source",
           "make_model", "metric_arrays", "predict", "train_and_evaluate"]
