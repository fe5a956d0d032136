"""Jobs: one per partitioning, so a whole history is one run per job (single-run backfills)."""

from __future__ import annotations

import dagster as dg

from financial_assets.defs.partitions import bar_partitions, trading_date_partitions
from financial_assets.defs.sql_models.assets import SQL_GROUP

TICKER_GROUPS = ("bars", "features", "labels")

ticker_assets_job = dg.define_asset_job(
    "ticker_assets_job",
    selection=dg.AssetSelection.groups(*TICKER_GROUPS),
    partitions_def=bar_partitions,
    description="raw → validated bars, quarantine, features and labels for a range of ticker x date partitions.",
)

sql_models_job = dg.define_asset_job(
    "sql_models_job",
    selection=dg.AssetSelection.groups(SQL_GROUP),
    partitions_def=trading_date_partitions,
    description="The dbt_like_sql models (universe, cross-asset features, training table) for a range of dates.",
)
