"""The feature registry: every feature's name, family, lookback, source and meaning, in one table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: `name` is snake case <indicator>_<period>; `family` one of returns, momentum,
    volatility, volume, trend, calendar, cross_asset; `lookback` the bars of history before the first
    non-null value (0 for calendar); `source` the TA-Lib call or formula ("sql:cross_asset_features"
    for the ones the SQL layer computes); `default` whether it is in the default set."""

    name: str
    family: str
    lookback: int      # bars before the first non-null value
    source: str
    description: str
    default: bool = True


def _specs() -> list[FeatureSpec]:
    s: list[FeatureSpec] = [FeatureSpec("log_ret_1", "returns", 1, "log(close / close[-1])", "1-bar log return")]
    s += [FeatureSpec(f"ret_{n}", "returns", n, f"log(close / close[-{n}])", f"{n}-bar log return") for n in (5, 10, 20)]
    s += [FeatureSpec(f"lag_ret_{k}", "returns", 1 + k, f"log_ret_1 shifted {k} bars", f"1-bar log return {k} bars ago")
          for k in range(1, 6)]
    s += [FeatureSpec(f"rsi_{n}", "momentum", n, f"talib.RSI(close, {n})", f"Wilder RSI over {n} bars") for n in (9, 14, 21)]
    s += [
        FeatureSpec("macd", "momentum", 33, "talib.MACD(close, 12, 26, 9)[0]", "MACD line (price units)", False),
        FeatureSpec("macd_signal", "momentum", 33, "talib.MACD(close, 12, 26, 9)[1]", "MACD signal line (price units)", False),
        FeatureSpec("macd_hist", "momentum", 33, "talib.MACD(close, 12, 26, 9)[2]", "MACD histogram (price units)", False),
        FeatureSpec("stoch_k", "momentum", 17, "talib.STOCH(high, low, close, 14, 3, 0, 3, 0)[0]", "slow %K"),
        FeatureSpec("stoch_d", "momentum", 17, "talib.STOCH(high, low, close, 14, 3, 0, 3, 0)[1]", "slow %D"),
        FeatureSpec("willr_14", "momentum", 13, "talib.WILLR(high, low, close, 14)", "Williams %R"),
        FeatureSpec("roc_10", "momentum", 10, "talib.ROC(close, 10)", "10-bar rate of change, percent"),
        FeatureSpec("mom_10", "momentum", 10, "talib.MOM(close, 10)", "10-bar momentum (price units)", False),
        FeatureSpec("adx_14", "momentum", 27, "talib.ADX(high, low, close, 14)", "average directional index"),
        FeatureSpec("cci_14", "momentum", 13, "talib.CCI(high, low, close, 14)", "commodity channel index"),
        FeatureSpec("atr_14", "volatility", 14, "talib.ATR(high, low, close, 14)", "average true range (price units)", False),
        FeatureSpec("natr_14", "volatility", 14, "talib.NATR(high, low, close, 14)", "ATR as a percent of close"),
        FeatureSpec("bb_upper_20", "volatility", 19, "talib.BBANDS(close, 20, 2, 2, 0)[0]", "upper Bollinger band (price)", False),
        FeatureSpec("bb_middle_20", "volatility", 19, "talib.BBANDS(close, 20, 2, 2, 0)[1]", "middle Bollinger band (price)", False),
        FeatureSpec("bb_lower_20", "volatility", 19, "talib.BBANDS(close, 20, 2, 2, 0)[2]", "lower Bollinger band (price)", False),
        FeatureSpec("bb_pctb_20", "volatility", 19, "(close - bb_lower) / (bb_upper - bb_lower)", "position in the bands"),
        FeatureSpec("bb_width_20", "volatility", 19, "(bb_upper - bb_lower) / bb_middle", "relative band width"),
        FeatureSpec("keltner_pos_20", "volatility", 20, "(close - (EMA20 - 2 ATR20)) / (4 ATR20), talib.EMA/ATR",
                    "position in the Keltner channel"),
    ]
    s += [FeatureSpec(f"rv_{n}", "volatility", n, f"std(log_ret_1, last {n} bars, ddof=0)", f"{n}-bar realized volatility")
          for n in (5, 10, 20)]
    s += [
        FeatureSpec("parkinson_20", "volatility", 19, "sqrt(mean(ln(high/low)^2, 20) / (4 ln 2))", "Parkinson range volatility"),
        FeatureSpec("garman_klass_20", "volatility", 19,
                    "sqrt(mean(0.5 ln(high/low)^2 - (2 ln 2 - 1) ln(close/open)^2, 20))", "Garman-Klass volatility"),
        FeatureSpec("vol_ratio_5_20", "volatility", 20, "rv_5 / rv_20", "short over long realized volatility"),
        FeatureSpec("obv", "volume", 0, "talib.OBV(close, volume)", "on-balance volume (cumulative level)", False),
        FeatureSpec("mfi_14", "volume", 14, "talib.MFI(high, low, close, volume, 14)", "money flow index"),
        FeatureSpec("volume_ratio_5_20", "volume", 19, "mean(volume, 5) / mean(volume, 20)", "volume surge"),
        FeatureSpec("vwap_dist_20", "volume", 19, "close / (sum(tp*volume, 20) / sum(volume, 20)) - 1, tp = (high+low+close)/3",
                    "distance from the rolling 20-bar VWAP"),
        FeatureSpec("cmf_20", "volume", 19, "sum(mfm*volume, 20) / sum(volume, 20), mfm = ((c-l)-(h-c))/(h-l), 0 if h = l", "Chaikin money flow"),
    ]
    s += [FeatureSpec(f"sma_dist_{n}", "trend", n - 1, f"close / talib.SMA(close, {n}) - 1", f"distance from the {n}-bar SMA")
          for n in (5, 10, 20, 50, 200)]
    s += [FeatureSpec(f"ema_dist_{n}", "trend", n - 1, f"close / talib.EMA(close, {n}) - 1", f"distance from the {n}-bar EMA")
          for n in (5, 10, 20, 50, 200)]
    s += [
        FeatureSpec("sma_cross_5_20", "trend", 19, "talib.SMA(close, 5) > talib.SMA(close, 20)", "1 if the fast SMA is above"),
        FeatureSpec("sma_cross_50_200", "trend", 199, "talib.SMA(close, 50) > talib.SMA(close, 200)", "1 if the fast SMA is above"),
        FeatureSpec("day_of_week", "calendar", 0, "date.dayofweek", "0 = Monday"),
        FeatureSpec("month", "calendar", 0, "date.month", "1-12"),
        FeatureSpec("days_to_month_end", "calendar", 0, "exchange calendar", "sessions left in the month (known in advance)"),
        FeatureSpec("corr_bench_60", "cross_asset", 60, "sql:cross_asset_features", "60-bar return correlation to the benchmark"),
        FeatureSpec("beta_bench_60", "cross_asset", 60, "sql:cross_asset_features", "60-bar beta to the benchmark"),
        FeatureSpec("rel_strength_20", "cross_asset", 20, "sql:cross_asset_features", "20-bar return minus the universe median"),
    ]
    return s


FEATURE_REGISTRY: dict[str, FeatureSpec] = {spec.name: spec for spec in _specs()}
#: price-level outputs (bands, ATR, MOM, OBV, MACD) are kept out: they don't compare across tickers or time
DEFAULT_FEATURES: tuple[str, ...] = tuple(name for name, spec in FEATURE_REGISTRY.items() if spec.default)


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
    return pd.DataFrame([vars(s) for s in FEATURE_REGISTRY.values() if s.name in chosen])


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
