"""What a bars check finds failing, per ticker and date, carried from one evaluation to the next.

A check runs once per run, over the run's partitions; its status must still be the state of every
ticker. So each evaluation stores the rows it holds as failing (`STATE`, in its metadata), and the
next one starts from them: it drops the rows of the partitions it judges again (per ticker, from its
first to its last date of the run) and adds what it finds there. A run of one ticker keeps another
ticker's failure, and a rerun of the failing partitions with good data clears it. Tickers no longer
registered are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd

#: the metadata entry holding the failing rows
STATE = "failing_rows"
COLUMNS = ["ticker", "date", "rule", "column", "value"]
#: evaluations looked at, newest first, for the latest one of another run
HISTORY = 20


def empty() -> pd.DataFrame:
    """No failing rows."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "date" else object) for c in COLUMNS})


def previous(instance: dg.DagsterInstance, key: dg.AssetCheckKey, run_id: str) -> pd.DataFrame:
    """The failing rows of the newest evaluation of check `key` by another run (none: no rows)."""
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=HISTORY):
        if record.run_id == run_id or record.event is None or record.event.dagster_event is None:
            continue
        stored = record.event.dagster_event.event_specific_data.metadata.get(STATE)
        rows = stored.value if stored is not None else []
        return pd.DataFrame(rows, columns=COLUMNS).astype({"date": "datetime64[ns]"}) if rows else empty()
    return empty()


def carried(before: pd.DataFrame, wanted: Mapping[str, pd.DatetimeIndex], found: pd.DataFrame,
            registered: list[str]) -> pd.DataFrame:
    """`before` without the rows of the judged partitions (each ticker's first to last run date), plus `found`."""
    rows = before
    if len(rows):
        first = rows["ticker"].map({t: d[0] for t, d in wanted.items()})
        last = rows["ticker"].map({t: d[-1] for t, d in wanted.items()})
        rows = rows.loc[~((rows["date"] >= first) & (rows["date"] <= last)).to_numpy()]
    state = pd.concat([f for f in (rows, found[COLUMNS]) if len(f)] or [empty()], ignore_index=True)
    state = state.loc[state["ticker"].isin(registered)].astype({"value": str})
    return state.drop_duplicates().sort_values(["ticker", "date", "rule"], kind="stable").reset_index(drop=True)


def metadata(state: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    """The failing rows (for the next evaluation) and, per ticker, how many dates fail which rules."""
    rows = [[t, d.date().isoformat(), r, c, v] for t, d, r, c, v in state[COLUMNS].itertuples(index=False)]
    summary = (state.groupby("ticker").agg(dates=("date", "nunique"), first=("date", "min"), last=("date", "max"),
                                           rules=("rule", lambda r: ", ".join(sorted(set(r)))))
               .reset_index() if len(state) else None)
    if summary is not None:
        summary[["first", "last"]] = summary[["first", "last"]].apply(lambda c: c.dt.date)
    return {STATE: dg.MetadataValue.json(rows),
            "failing_now_by_ticker": dg.MetadataValue.md(summary.to_markdown(index=False) if summary is not None
                                                         else "_none: every ticker passes_")}
