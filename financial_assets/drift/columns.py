"""Which of a model's features a drift report compares, and each one's memory, from the feature registry."""

from __future__ import annotations

from collections.abc import Sequence

from financial_assets.features.registry import FEATURE_REGISTRY

#: feature families that are functions of the date alone: a window of 20 sessions holds one or two months and
#: a fixed set of weekdays, so their "drift" is the calendar turning (every year end for `month`), never the market
CALENDAR_FAMILIES = frozenset({"calendar"})
CALENDAR_REASON = "calendar feature: a function of the date, not of the market"


def calendar_features(names: Sequence[str]) -> list[str]:
    """The names of calendar features among `names` (never compared)."""
    return [n for n in names if n in FEATURE_REGISTRY and FEATURE_REGISTRY[n].family in CALENDAR_FAMILIES]


def feature_memory(names: Sequence[str]) -> dict[str, int]:
    """Each name's lookback in bars (how far back its value reaches), 0 for names the registry does not know."""
    return {n: FEATURE_REGISTRY[n].lookback if n in FEATURE_REGISTRY else 0 for n in names}
