"""One Dagster asset per SQL model in dbt_like_sql/, executed by DuckDB over the lake for a date range."""

import dagster as dg

from financial_assets.defs.metadata import date_metadata
from financial_assets.defs.partitions import TICKERS_PARTITION_NAME, run_dates, trading_date_partitions
from financial_assets.defs.resources import BarSourceResource, LakeResource
from financial_assets.runs.internals import planned_partitions, report_partitions
from financial_assets.sql_models import SqlModel, load_project, run_model

SQL_GROUP = "sql_models"


def _dep(name: str) -> dg.AssetDep:
    """A dependency on a lake asset or another model.

    A model's date reads a lookback window of every ticker, so it depends on all partitions of a
    ticker x date source (`AllPartitionMapping`, also what keeps Dagster from mapping each date of a
    range to its ticker partitions one by one: 11 s for 13 years); models among themselves keep
    the date-to-date mapping.
    """
    if name in SQL_MODELS:
        return dg.AssetDep(name)
    return dg.AssetDep(name, partition_mapping=dg.AllPartitionMapping())


def build_sql_model_asset(model: SqlModel) -> dg.AssetsDefinition:
    """An asset that runs `model` for the run's dates and replaces those dates in the lake."""

    @dg.asset(
        name=model.name,
        partitions_def=trading_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[_dep(name) for name in (*model.sources, *model.refs)],
        group_name=SQL_GROUP,
        kinds={"duckdb", "sql", "parquet"},
        description=model.description,
        metadata={"sql_file": dg.MetadataValue.path(str(model.path)),
                  "sql": dg.MetadataValue.md(f"```sql\n{model.template}\n```")},
    )
    def _sql_model(context: dg.AssetExecutionContext, lake: LakeResource, bar_source: BarSourceResource) -> None:
        dates = run_dates(planned_partitions(context))
        universe = context.instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)
        frame = run_model(model, lake.parquet, dates.min().date(), dates.max().date(),
                          benchmark_ticker=bar_source.benchmark(universe))
        frame = frame.loc[frame["date"].isin(dates)].reset_index(drop=True)
        lake.write(model.name, frame, {None: dates})
        report_partitions(context, model.name, date_metadata(frame, dates))

    return _sql_model


SQL_MODELS = load_project()
sql_model_assets = [build_sql_model_asset(model) for model in SQL_MODELS.values()]
