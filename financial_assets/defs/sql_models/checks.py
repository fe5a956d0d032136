"""The column tests declared in each model's YAML file, as asset checks evaluated once per run over its dates."""

import dagster as dg
import pandas as pd

from financial_assets.defs.partitions import run_dates
from financial_assets.defs.resources import LakeResource
from financial_assets.defs.sql_models.assets import SQL_MODELS
from financial_assets.sql_models import ColumnTest, SqlModel, run_model_tests


def build_sql_model_check(model: SqlModel, test: ColumnTest) -> dg.AssetChecksDefinition:
    """A check that judges one declared test of `model` on the run's dates."""

    @dg.asset_check(asset=model.name, name=test.name, blocking=False,
                    description=f"{test.kind} on {', '.join(test.columns)} (declared in {model.name}.yml), "
                    "over the run's dates")
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        dates = run_dates(context.op_execution_context.partition_keys)
        frame = lake.read(model.name, start=dates.min(), end=dates.max())
        frame = frame.loc[frame["date"].isin(dates)] if len(frame) else frame
        result = next(r for r in run_model_tests(model, frame) if r.name == test.name)
        return dg.AssetCheckResult(
            passed=result.passed,
            metadata={
                "rows_checked": dg.MetadataValue.int(len(frame)),
                "failures": dg.MetadataValue.int(result.failures),
                "sample": dg.MetadataValue.md(pd.DataFrame(result.sample).to_markdown(index=False)
                                              if result.sample else "_none_"),
            },
        )

    return _check


sql_model_checks = [build_sql_model_check(model, test) for model in SQL_MODELS.values() for test in model.tests]
