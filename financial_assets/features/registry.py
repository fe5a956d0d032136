"""The feature registry: every feature's name, family, lookback, source and meaning, looked up by name.

The entries, with their formulas, are in `financial_assets.features.indicators`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from financial_assets.features.indicators import FEATURES
from financial_assets.features.spec import FeatureSpec

FEATURE_REGISTRY: dict[str, FeatureSpec] = {spec.name: spec for spec in FEATURES}
#: price-level outputs (bands, ATR, MOM, OBV, MACD) are kept out: they don't compare across tickers or time
DEFAULT_FEATURES: tuple[str, ...] = tuple(name for name, spec in FEATURE_REGISTRY.items() if spec.default)
#: the columns of the registry table (a spec's formula is code, not a column)
_COLUMNS = ("name", "family", "lookback", "source", "description", "default")


def resolve_feature_names(names: Sequence[str] | None) -> tuple[str, ...]:
    """The requested feature names in registry order; None or empty means the default set."""
    if not names:
        return DEFAULT_FEATURES
    unknown = [n for n in names if n not in FEATURE_REGISTRY]
    if unknown:
        raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_REGISTRY)}")
    wanted = set(names)
    return tuple(n for n in FEATURE_REGISTRY if n in wanted)


def registry_table(names: Sequence[str] | None = None) -> pd.DataFrame:
    """The registry as a table: name, family, lookback, source, description, default."""
    chosen = set(resolve_feature_names(names)) if names else set(FEATURE_REGISTRY)
    return pd.DataFrame([{c: getattr(s, c) for c in _COLUMNS} for s in FEATURE_REGISTRY.values() if s.name in chosen])


def registry_markdown() -> str:
    """The registry as the markdown page docs/features.md (regenerate: python -m financial_assets.features.registry)."""
    table = registry_table().to_markdown(index=False)
    return (
        "# Feature registry\n\n"
        f"{len(FEATURE_REGISTRY)} features; the default set has {len(DEFAULT_FEATURES)} (`default` = True). "
        "Choose another set with `FA_FEATURES=name,name,...`. `lookback` is the number of bars before the first "
        "non-null value; every value at date D is computed from bars at or before D, on split-adjusted prices.\n\n"
        f"{table}\n"
    )


if __name__ == "__main__":
    print(registry_markdown(), end="")
