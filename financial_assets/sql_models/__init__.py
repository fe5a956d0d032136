"""The dbt-like SQL layer: models in dbt_like_sql/ run by DuckDB over the lake, tests from YAML.

Plain Python (no Dagster): `load_project` reads the models, `run_model` executes one for a date
range, `run_model_tests` judges its YAML tests on the output.
"""

from financial_assets.sql_models.engine import PARAMETERS, lookback_days, lookback_start, run_model
from financial_assets.sql_models.model_tests import TestResult, run_model_tests
from financial_assets.sql_models.project import DEFAULT_MODELS_DIR, ColumnTest, SqlModel, load_project

__all__ = ["DEFAULT_MODELS_DIR", "PARAMETERS", "ColumnTest", "SqlModel", "TestResult", "load_project",
           "lookback_days", "lookback_start", "run_model", "run_model_tests"]
