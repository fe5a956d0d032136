"""The Dagster code location: every asset, check, job, sensor and resource of the project."""

from financial_assets.settings import apply_env_defaults

apply_env_defaults()

import dagster as dg  # noqa: E402

from financial_assets.defs.bars.assets import raw_bars, validate_bars  # noqa: E402
from financial_assets.defs.bars.checks import bars_schema_pandera, bars_suite_great_expectations  # noqa: E402
from financial_assets.defs.bars.sensors import ticker_registration_sensor  # noqa: E402
from financial_assets.defs.features.assets import features  # noqa: E402
from financial_assets.defs.jobs import sql_models_job, ticker_assets_job  # noqa: E402
from financial_assets.defs.labels.assets import labels  # noqa: E402
from financial_assets.defs.resources import resources_from_env  # noqa: E402
from financial_assets.defs.sql_models.assets import sql_model_assets  # noqa: E402
from financial_assets.defs.sql_models.checks import sql_model_checks  # noqa: E402

defs = dg.Definitions(
    assets=[raw_bars, validate_bars, features, labels, *sql_model_assets],
    asset_checks=[bars_schema_pandera, bars_suite_great_expectations, *sql_model_checks],
    jobs=[ticker_assets_job, sql_models_job],
    sensors=[ticker_registration_sensor],
    resources=resources_from_env(),
)
