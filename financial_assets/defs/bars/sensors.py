"""Keeps the dynamic ticker partitions in step with the source: a new file or ticker adds a partition."""


import dagster as dg

from financial_assets.defs.partitions import ticker_partitions
from financial_assets.defs.resources import BarSourceResource


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds every ticker the configured source offers to the `tickers` dynamic partitions.")
def ticker_registration_sensor(context: dg.SensorEvaluationContext, bar_source: BarSourceResource) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(ticker_partitions.name))
    new = sorted(set(bar_source.source().tickers()) - known)
    if new:
        context.log.info(f"registering tickers {new}")
    return dg.SensorResult(dynamic_partitions_requests=[ticker_partitions.build_add_request(new)] if new else [])
