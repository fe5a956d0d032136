"""The GraphQL scale benchmark (financial_assets/bench/graphql_scale.py) at a small size: it fills an
instance through the project's runner, serves it, and prints its BENCH lines against the instance API.

The full size (100 tickers x 4 years, about 100,000 partitions) takes minutes: run it with
`python -m financial_assets.bench.graphql_scale`.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

LINE = re.compile(r"^BENCH (graphql_partition_status(?:_warm)?) (\S+) s ratio=(\S+) vs "
                  r"instance_get_materialized_partitions_\S+s$", re.M)


def test_the_benchmark_fills_serves_and_times_the_partition_status_query():
    done = subprocess.run([sys.executable, "-m", "financial_assets.bench.graphql_scale", "--tickers", "3", "--years", "1"],
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = {name: (float(seconds), float(ratio)) for name, seconds, ratio in LINE.findall(done.stdout)}
    assert set(lines) == {"graphql_partition_status", "graphql_partition_status_warm"}, done.stdout
    assert "BENCH graphql_first_request_asset_graph " in done.stdout
    assert all(seconds > 0 and ratio > 0 for seconds, ratio in lines.values())
    # 3 tickers x the 252 sessions of 2024, every one materialized and seen by the UI's query
    assert "# 756 partitions of validated_bars filled" in done.stdout, done.stdout
