"""What a feature is: its registry entry (name, family, lookback, source, description) and its formula."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from financial_assets.features.chunk import Chunk

#: a formula: writes the feature of every row of the chunk into `dest`
Fill = Callable[[Chunk, np.ndarray], None]


@dataclass(frozen=True)
class TalibCall:
    """A public TA-Lib function on the bars: `args` are bar columns ("close") or the function's parameters."""

    fn: Callable[..., Any]
    args: tuple[str | float, ...]

    def __str__(self) -> str:
        return f"talib.{self.fn.__name__}({', '.join(map(str, self.args))})"


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: `name` is snake case <indicator>_<period>; `family` one of returns, momentum,
    volatility, volume, trend, calendar, cross_asset; `lookback` the bars of history before the first
    non-null value (0 for calendar); `source` the TA-Lib call or formula ("sql:cross_asset_features"
    for the ones the SQL layer computes); `default` whether it is in the default set; `fill` its
    formula (None for the SQL layer's); `talib` the call when the feature is one TA-Lib output."""

    name: str
    family: str
    lookback: int      # bars before the first non-null value
    source: str
    description: str
    default: bool = True
    fill: Fill | None = field(default=None, compare=False, repr=False)
    talib: TalibCall | None = field(default=None, compare=False, repr=False)


def talib_feature(name: str, family: str, lookback: int, description: str, fn: Callable[..., Any],
                  *args: str | float, output: int | None = None, default: bool = True) -> FeatureSpec:
    """A feature that is TA-Lib's `fn(*args)` per ticker (its `output`-th output if it has several);
    `source` is written from the call."""
    call = TalibCall(fn, args)

    def fill(ch: Chunk, dest: np.ndarray) -> None:
        if output is None:
            ch.talib(fn, *args, out=dest)
        else:
            np.copyto(dest, ch.talib(fn, *args)[output])

    source = str(call) if output is None else f"{call}[{output}]"
    return FeatureSpec(name, family, lookback, source, description, default, fill=fill, talib=call)
