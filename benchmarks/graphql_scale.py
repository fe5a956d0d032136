"""GraphQL partition status at Dagster's recommended ceiling: 100 tickers x 4 years of validated_bars.

    python -m benchmarks.graphql_scale [--tickers 100] [--years 4] [--dagster-yaml FILE]
                                                   [--keep-instance]

Fills a fresh instance with about 100,000 ticker x date partitions of `raw_bars` and
`validated_bars` (`FA_SOURCE=synthetic`, the project's range runner, one run per block of tickers),
then the last session again for every ticker (a nightly increment), evaluating
`partition_status_cache_sensor` once after each run, as the daemon does within a tick of a run (its
cost is timed, per fill run and after the increment). Then it starts a fresh `dagster-webserver` on
loopback over the instance and times the query the UI's partition bar sends for `validated_bars`
(every partition's status, both dimensions): cold (the webserver's first status query, after it has
answered one request for the asset graph, timed apart) and warm (the median of the next three). It
checks that the cold query only read the stored cache (the cache is unchanged). The reference,
measured in the same run on the same instance: the same cold query without the sensor's refresh (the
stored cache wiped, a second fresh webserver), which is what a person paid before; that one is also
compared with the storage call it computes from, `DagsterInstance.get_materialized_partitions`.
Target: cold under 2 s.

Settings shape the partitions, so this runs in its own process (it sets FA_* before the code
location is imported). `--dagster-yaml` runs it on another instance configuration, e.g. the
deployment's PostgreSQL one (deploy/dagster.yaml with the DefaultRunLauncher).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

#: the last session of the filled window (fixed, so every run measures the same partitions)
LAST_SESSION = "2024-12-31"
#: tickers per run: a range run is a box of tickers x dates
TICKERS_PER_RUN = 10

PARTITION_STATUS = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename ... on AssetNode {
  partitionStats { numMaterialized numPartitions numFailed numMaterializing }
  assetPartitionStatuses { __typename ... on MultiPartitionStatuses { primaryDimensionName ranges {
    primaryDimStartKey primaryDimEndKey primaryDimStartTime primaryDimEndTime
    secondaryDim { __typename
      ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
      ... on TimePartitionStatuses { ranges { status startKey endKey } } } } } } } } }"""


def _settings(tickers: int, years: int) -> dict[str, str]:
    from financial_assets.core.calendar import trading_sessions

    # the first session of the first year: a start on a holiday (1 January) would itself become a
    # date partition (see the report to the lead), one more partition per ticker than sessions
    year = int(LAST_SESSION[:4]) - years + 1
    first = trading_sessions("XNYS", f"{year}-01-01", f"{year}-01-31")[0].date().isoformat()
    return {"FA_SOURCE": "synthetic", "FA_SYNTHETIC_TICKERS": str(tickers), "FA_HISTORY_START": first,
            "FA_HISTORY_END": LAST_SESSION, "FA_CALENDAR": "XNYS"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: what any page asks first: the asset graph (it loads the code location's assets into the webserver)
ASSET_GRAPH = "{ assetNodes { assetKey { path } } }"


def _query(base: str, query: str = PARTITION_STATUS) -> tuple[float, dict]:
    body = json.dumps({"query": query, "variables": {"key": {"path": ["validated_bars"]}}}).encode()
    request = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        answer = json.load(response)
    seconds = time.perf_counter() - began
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    return seconds, answer["data"].get("assetNodeOrError", answer["data"])


def fill(tickers: int, years: int) -> tuple[int, float, list[float], list[float], tuple[float, float]]:
    """Materialize raw_bars and validated_bars for every ticker and session, then the last session again for
    every ticker (a nightly increment), evaluating the status-cache sensor after each run; (partitions, seconds,
    each fill run's seconds, each of their sensor evaluations' seconds, (the increment's, its sensor's))."""
    import dagster as dg

    from financial_assets.app.runner import launch, register_tickers
    from financial_assets.definitions import defs
    from financial_assets.defs.partitions import session_keys
    from financial_assets.runs.instance import project_instance
    from financial_assets.runs.stages import plan_stages
    from financial_assets.sources import make_source

    instance = project_instance()
    names = make_source("synthetic", n_synthetic=tickers).tickers()
    order = register_tickers(instance, names)
    sessions = session_keys()
    selection = frozenset(dg.AssetKey(a) for a in ("raw_bars", "validated_bars"))
    (stage,) = [s for s in plan_stages(defs) if selection <= set(s.asset_keys)]
    runs, refreshes, cursor = [], [], None
    began = time.perf_counter()
    for i in range(0, len(order), TICKERS_PER_RUN):
        block = order[i:i + TICKERS_PER_RUN]
        run = launch(instance, stage.job_name, f"{sessions[0]}|{block[0]}", f"{sessions[-1]}|{block[-1]}", selection)
        if run.status != "SUCCESS":
            raise RuntimeError(f"filling {block[0]}..{block[-1]} failed: {run.error}")
        refresh, outcome, cursor = _evaluate_status_sensor(instance, defs, cursor)
        runs.append(run.seconds)
        refreshes.append(refresh)
        print(f"# filled {block[0]}..{block[-1]}: {run.materialized.get('validated_bars', 0)} partitions in "
              f"{run.seconds:.1f} s; status-cache sensor {refresh:.2f} s: {outcome}", flush=True)
    seconds = time.perf_counter() - began
    run = launch(instance, stage.job_name, f"{sessions[-1]}|{order[0]}", f"{sessions[-1]}|{order[-1]}", selection)
    if run.status != "SUCCESS":
        raise RuntimeError(f"the increment of {sessions[-1]} failed: {run.error}")
    nightly, outcome, cursor = _evaluate_status_sensor(instance, defs, cursor)
    print(f"# {sessions[-1]} again for all {len(order)} tickers in {run.seconds:.1f} s; status-cache sensor "
          f"{nightly:.2f} s: {outcome}", flush=True)
    _, outcome, _ = _evaluate_status_sensor(instance, defs, cursor)
    if outcome != "every partition-status cache is current":
        raise RuntimeError(f"the status-cache sensor left work after the fill: {outcome}")
    return len(order) * len(sessions), seconds, runs, refreshes, (run.seconds, nightly)


def _evaluate_status_sensor(instance, defs, cursor: str | None) -> tuple[float, str, str | None]:
    """One tick of partition_status_cache_sensor, as the daemon evaluates it: (seconds, its message, its cursor)."""
    import dagster as dg

    sensor = defs.get_sensor_def("partition_status_cache_sensor")
    began = time.perf_counter()
    outcome = sensor(dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor))
    return time.perf_counter() - began, outcome.skip_reason.skip_message, outcome.cursor


def _reference_seconds() -> tuple[float, int]:
    """The instance API on the same instance, from a fresh instance object: (seconds, partitions)."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    began = time.perf_counter()
    materialized = instance.get_materialized_partitions(dg.AssetKey("validated_bars"))
    return time.perf_counter() - began, len(materialized)


def _serve_and_time(warm_repeats: int) -> tuple[float, float, float | None, dict]:
    """A fresh webserver over the instance: (asset-graph request, cold status query, warm median, its answer)."""
    port = _free_port()
    workspace = Path(__file__).resolve().parents[1] / "workspace.yaml"
    server = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(workspace),
                               "-h", "127.0.0.1", "-p", str(port)], env=dict(os.environ),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the webserver did not start") from None
                time.sleep(0.5)
        first_request, _ = _query(base, ASSET_GRAPH)
        cold, node = _query(base)
        warm = statistics.median(_query(base)[0] for _ in range(warm_repeats)) if warm_repeats else None
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return first_request, cold, warm, node


def _check_counts(node: dict, partitions: int) -> None:
    stats = node["partitionStats"]
    if stats["numMaterialized"] != partitions or stats["numPartitions"] != partitions:
        raise RuntimeError(f"the UI sees {stats}, not {partitions} materialized partitions")


def bench_graphql_partition_status(tickers: int = 100, years: int = 4, dagster_yaml: str | None = None,
                                   warm_repeats: int = 3) -> dict[str, float]:
    """Fill (refreshing the status cache after each run), serve, time; print the BENCH lines and return them."""
    from benchmarks import bench_line

    os.environ.update(_settings(tickers, years))
    home = Path(tempfile.mkdtemp(prefix="fa-bench-graphql-home-"))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["FA_DATA_DIR"] = tempfile.mkdtemp(prefix="fa-bench-graphql-data-")  # never the user's lake
    if dagster_yaml:
        (home / "dagster.yaml").write_text(Path(dagster_yaml).read_text())
    partitions, fill_seconds, runs, refreshes, (increment, nightly) = fill(tickers, years)
    print(f"# {partitions} partitions of validated_bars filled in {fill_seconds:.0f} s; instance {home}", flush=True)

    import dagster as dg

    from financial_assets.runs.status_cache import stored_status_cache, wipe_status_cache

    instance, key = dg.DagsterInstance.get(), dg.AssetKey("validated_bars")
    refreshed = stored_status_cache(instance, key)
    first_request, cold, warm, node = _serve_and_time(warm_repeats)
    _check_counts(node, partitions)
    if stored_status_cache(instance, key) != refreshed:
        raise RuntimeError("the webserver recomputed the status cache the sensor had refreshed")

    wipe_status_cache(instance, key)  # what a fresh webserver found before: no cache up to date
    _, uncached, _, node = _serve_and_time(0)
    _check_counts(node, partitions)
    reference, counted = _reference_seconds()
    if counted != partitions:
        raise RuntimeError(f"get_materialized_partitions returned {counted}, not {partitions}")

    uncached_name = f"graphql_partition_status_without_refreshed_cache_{uncached:.3g}s"
    bench_line("graphql_partition_status", cold, "s", cold / uncached, uncached_name)
    bench_line("graphql_partition_status_warm", warm, "s", warm / uncached, uncached_name)
    bench_line("graphql_partition_status_without_refreshed_cache", uncached, "s", uncached / reference,
               f"instance_get_materialized_partitions_{reference:.3g}s")
    refresh, run = statistics.mean(refreshes), statistics.mean(runs)
    bench_line("partition_status_cache_refresh_per_run", refresh, "s", refresh / run, f"fill_run_{run:.3g}s")
    bench_line("partition_status_cache_refresh_nightly", nightly, "s", nightly / increment,
               f"increment_run_{increment:.3g}s")
    bench_line("graphql_first_request_asset_graph", first_request, "s", first_request / cold,
               "graphql_partition_status_cold")
    print(f"# {partitions} partitions; target under 2 s: cold {'met' if cold < 2 else 'NOT met'}, "
          f"warm {'met' if warm < 2 else 'NOT met'}; the sensor took {max(refreshes):.2f} s at most after a run "
          f"({sum(refreshes):.1f} s in all over {len(runs)} runs)", flush=True)
    return {"partitions": partitions, "fill_s": fill_seconds, "cold_s": cold, "warm_s": warm, "uncached_s": uncached,
            "reference_s": reference, "first_request_s": first_request, "refresh_mean_s": refresh,
            "refresh_max_s": max(refreshes), "refresh_nightly_s": nightly}


def main(argv: list[str] | None = None) -> None:
    """Fill an instance, time the partition-status query, and remove it unless kept."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickers", type=int, default=100)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--dagster-yaml",
                        help="dagster.yaml of the instance to fill (default: the project's SQLite one)")
    parser.add_argument("--keep-instance", action="store_true",
                        help="keep the filled instance and lake (about 1 GB at full size) instead of removing them")
    args = parser.parse_args(argv)
    try:
        bench_graphql_partition_status(args.tickers, args.years, args.dagster_yaml)
    finally:
        if not args.keep_instance:
            for variable in ("DAGSTER_HOME", "FA_DATA_DIR"):
                if os.environ.get(variable, "").startswith(tempfile.gettempdir()):
                    shutil.rmtree(os.environ[variable], ignore_errors=True)


if __name__ == "__main__":
    main()
