"""Keeps the dynamic ticker partitions in step with the source: a new file or ticker adds a partition."""

import dagster as dg

from financial_assets.defs.partitions import ticker_partitions
from financial_assets.defs.resources import BarSourceResource
from financial_assets.sources import unusable_inputs


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds every ticker the configured source offers to the `tickers` dynamic partitions; a file "
           "whose name is not a safe ticker is logged, never registered.")
def ticker_registration_sensor(context: dg.SensorEvaluationContext, bar_source: BarSourceResource) -> dg.SensorResult:
    """Register the source's new tickers as partitions; log files no ticker can be made of."""
    source = bar_source.source()
    for err in unusable_inputs(source):
        context.log.warning(str(err))
    known = set(context.instance.get_dynamic_partitions(ticker_partitions.name))
    new = sorted(set(source.tickers()) - known)
    if new:
        context.log.info(f"registering tickers {new}")
    return dg.SensorResult(dynamic_partitions_requests=[ticker_partitions.build_add_request(new)] if new else [])
