"""Ticker names: the one rule for which names are safe as partition keys, file names and SQL values."""

from __future__ import annotations

import re

from financial_assets.core.errors import BarDataError

#: the name of the dynamic partitions that hold the registered tickers
TICKERS_PARTITION_NAME = "tickers"

# Letters, digits and the punctuation real symbols use (BRK.B, BTC-USD, ^GSPC, EURUSD=X).
# Excludes path separators, quotes, SQL metacharacters, '|' (Dagster's multi-partition separator),
# ',' '[' ']' (reserved by Dagster) and white space.
_SAFE_TICKER = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^_]{0,31}$")


def normalize_ticker(name: str) -> str:
    """Upper-case `name` and check it is a safe identifier; raise BarDataError naming the rule if not."""
    candidate = str(name).strip().upper()
    if not _SAFE_TICKER.match(candidate) or ".." in candidate:
        raise BarDataError(
            "ticker_safe_identifier",
            f"{name!r} is not a safe ticker name: use letters, digits and . - = ^ _ only (max 32)",
            ticker=str(name),
        )
    return candidate
