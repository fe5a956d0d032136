"""Split one ticker's raw bars into accepted, split-adjusted bars and quarantine records."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from financial_assets.validation import rules


@dataclass(frozen=True)
class Triage:
    """One ticker's bars after validation: the accepted bars and the quarantine records."""

    validated: pd.DataFrame   # accepted bars with raw and split-adjusted prices
    quarantine: pd.DataFrame  # one record per (bar, rule) broken: ERROR rejects, WARN keeps


def triage_bars(raw: pd.DataFrame, targets: pd.DatetimeIndex, sessions: pd.DatetimeIndex) -> Triage:
    """Judge the bars of `raw` (one ticker) whose date is in `targets`.

    `raw` may hold earlier context rows so that returns, stale runs and zero-volume runs at the
    first target date see their history; only rows and records dated in `targets` are returned.
    """
    errors = rules.error_violations(raw)
    rejected = raw["source_row"].isin(errors["source_row"])
    accepted = raw.loc[~rejected].sort_values("date", kind="stable").reset_index(drop=True)
    validated = rules.split_adjust(accepted)
    warnings = rules.warn_violations(validated)
    ticker = str(raw["ticker"].iloc[0]) if len(raw) else ""
    # a session whose bar was rejected is not also "missing": that would repeat the rejection as a gap
    gaps = rules.missing_sessions(ticker, raw["date"].drop_duplicates(), sessions) if len(raw) else None
    quarantine = pd.concat([f for f in (errors, warnings, gaps) if f is not None and len(f)], ignore_index=True) \
        if any(f is not None and len(f) for f in (errors, warnings, gaps)) \
        else pd.DataFrame(columns=list(rules.QUARANTINE_COLUMNS))
    in_targets = quarantine["date"].isin(targets) if len(quarantine) else []
    quarantine = quarantine.loc[in_targets].astype({"source_row": "int64"}).sort_values(["date", "rule", "column"])
    validated = validated.loc[validated["date"].isin(targets)].reset_index(drop=True)
    return Triage(validated=validated, quarantine=quarantine.reset_index(drop=True))
