"""Helpers for tests that run the Dagster graph in process."""

from __future__ import annotations

import dagster as dg

from financial_assets.runner import RANGE_END_TAG, RANGE_START_TAG, register_tickers


def run_range(job_name: str, first: str, last: str, instance: dg.DagsterInstance, tickers: list[str] | None = None):
    """Run `job_name` of the project's definitions over one partition range, as one run."""
    from financial_assets.definitions import defs

    if tickers:
        register_tickers(instance, tickers)
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, tags={RANGE_START_TAG: first, RANGE_END_TAG: last}, raise_on_error=False
    )


def materialized(result, asset: str) -> list[str]:
    """Partition keys of `asset` materialized in `result`."""
    return [
        e.partition for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.to_user_string() == asset
    ]


def check_results(result) -> dict[str, tuple[bool, str]]:
    """check name -> (passed, severity) for the checks evaluated in `result`."""
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            out[ev.check_name] = (ev.passed, ev.severity.value)
    return out


def failure_messages(result) -> str:
    """Every step failure's message and the messages of its causes, joined."""
    texts = []
    for e in result.all_events:
        if e.event_type_value == "STEP_FAILURE":
            error = e.event_specific_data.error
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)
