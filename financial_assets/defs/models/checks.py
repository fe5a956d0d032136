"""Checks on trained_model and predictions, each evaluated once per run over the run's partitions.

Unpartitioned and non-blocking, as every check of the project: a warning on one ticker's model never
stops the others.
"""

import dagster as dg
import pandas as pd

from financial_assets.defs.partitions import dates_by_ticker
from financial_assets.defs.resources import LakeResource
from financial_assets.models.honesty import CEILING_PHI, auc_ceiling, leaks


def _run_rows(context: dg.AssetCheckExecutionContext, lake: LakeResource, asset: str) -> pd.DataFrame:
    """Rows of `asset` stored for the run's partitions."""
    wanted = dates_by_ticker(context.op_execution_context.partition_keys)
    rows = lake.read_span(asset, wanted)
    if rows.empty:
        return rows
    keys = pd.MultiIndex.from_tuples([(t, d) for t, dates in wanted.items() for d in dates])
    return rows.loc[pd.MultiIndex.from_frame(rows[["ticker", "date"]]).isin(keys)].reset_index(drop=True)


def _listed(table: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4f") if len(table) else "_none_")


@dg.asset_check(
    asset="trained_model",
    blocking=False,
    description="Leakage alarm, once per run: a model whose out-of-fold AUC interval lies wholly above its label's "
    "ceiling has almost surely seen the future (a feature built from later bars, a label overlapping its training "
    "fold), not found an edge. The ceiling is the AUC a Bayes-optimal model reaches on a planted AR(1) edge with "
    f"autocorrelation {CEILING_PHI}, stronger than any liquid market's ("
    + ", ".join(f"{label} {auc_ceiling(label):.3f}" for label in ("dir_1", "dir_5", "dir_20", "tb_label"))
    + "; financial_assets.models.honesty). "
    "WARN, listing each such model with its interval, the ceiling and the majority baseline.",
)
def trained_model_auc_below_leakage_alarm(context: dg.AssetCheckExecutionContext,
                                          lake: LakeResource) -> dg.AssetCheckResult:
    """WARN on the run's models whose AUC interval lies wholly above the label's leakage ceiling."""
    rows = _run_rows(context, lake, "trained_model")
    if len(rows):
        rows = rows.assign(auc_ceiling=rows["label"].map(auc_ceiling))
        alarms = rows.loc[[leaks(low, label) for low, label in zip(rows["oos_auc_ci_low"], rows["label"], strict=True)]]
    else:
        alarms = rows
    columns = ["ticker", "date", "model_type", "model_version", "label", "oos_auc", "oos_auc_ci_low",
               "oos_auc_ci_high", "auc_ceiling", "baseline_majority_accuracy", "oos_accuracy"]
    return dg.AssetCheckResult(
        passed=alarms.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"models_checked": dg.MetadataValue.int(len(rows)),
                  "max_oos_auc": dg.MetadataValue.float(float(rows["oos_auc"].max()) if len(rows) else float("nan")),
                  "alarms": _listed(alarms[columns] if len(alarms) else alarms)},
    )


@dg.asset_check(
    asset="predictions",
    blocking=False,
    description="Once per run: every stored prediction (and shadow challenger prediction) is a probability in "
    "[0, 1] (none on a date without a champion), and each materialized partition holds exactly one. ERROR otherwise: "
    "the numbers cannot be traded.",
)
def predictions_are_one_probability_per_partition(context: dg.AssetCheckExecutionContext,
                                                  lake: LakeResource) -> dg.AssetCheckResult:
    """ERROR when a stored prediction is not a probability or a partition holds other than one."""
    rows = _run_rows(context, lake, "predictions")
    if rows.empty:
        bad, duplicated = rows, rows
    else:
        def outside(column: str, optional: bool | pd.Series) -> pd.Series:
            values = rows[column]
            return ~values.between(0.0, 1.0) & ~(optional & values.isna())

        # a date without a champion holds no champion probability, only the shadow one
        bad = rows.loc[outside("probability", rows["model_version"].isna()) | outside("challenger_probability", True)]
        duplicated = rows.loc[rows.duplicated(["ticker", "date"], keep=False)]
    columns = ["ticker", "date", "model_version", "probability", "challenger_probability"]
    return dg.AssetCheckResult(
        passed=bad.empty and duplicated.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"predictions_checked": dg.MetadataValue.int(len(rows)),
                  "not_probabilities": _listed(bad[columns] if len(bad) else bad),
                  "duplicated_partitions": _listed(duplicated[columns] if len(duplicated) else duplicated)},
    )
