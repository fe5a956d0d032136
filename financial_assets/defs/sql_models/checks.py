"""The column tests declared in each model's YAML file: one check each, evaluated once per run over its dates.

The tests of one model run in one step, so the model's rows are read once per run.
"""

import dagster as dg
import pandas as pd

from financial_assets.defs.partitions import run_dates
from financial_assets.defs.resources import LakeResource
from financial_assets.defs.sql_models.assets import SQL_MODELS
from financial_assets.sql_models import SqlModel, run_model_tests


def build_sql_model_checks(model: SqlModel) -> dg.AssetChecksDefinition:
    """The checks of every declared test of `model`, judged together on the run's dates."""
    specs = [dg.AssetCheckSpec(test.name, asset=model.name, blocking=False,
                               description=f"{test.kind} on {', '.join(test.columns)} (declared in {model.name}.yml), "
                               "over the run's dates") for test in model.tests]

    @dg.multi_asset_check(specs=specs, name=f"{model.name}_yaml_tests", can_subset=True)
    def _checks(context: dg.AssetCheckExecutionContext, lake: LakeResource):
        dates = run_dates(context.op_execution_context.partition_keys)
        frame = lake.read(model.name, start=dates.min(), end=dates.max())
        frame = frame.loc[frame["date"].isin(dates)] if len(frame) else frame
        selected = {key.name for key in context.selected_asset_check_keys}
        for result in run_model_tests(model, frame):
            if result.name not in selected:
                continue
            yield dg.AssetCheckResult(
                asset_key=model.name, check_name=result.name, passed=result.passed,
                metadata={
                    "rows_checked": dg.MetadataValue.int(len(frame)),
                    "failures": dg.MetadataValue.int(result.failures),
                    "sample": dg.MetadataValue.md(pd.DataFrame(result.sample).to_markdown(index=False)
                                                  if result.sample else "_none_"),
                },
            )

    return _checks


sql_model_checks = [build_sql_model_checks(model) for model in SQL_MODELS.values() if model.tests]
