"""Training configuration: one frozen dataclass, plain values only, so it can be logged as parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

MODEL_TYPES: tuple[str, ...] = ("xgboost", "lstm", "transformer", "logistic", "majority", "previous_sign")
SEQUENCE_MODELS: tuple[str, ...] = ("lstm", "transformer")
CV_KINDS: tuple[str, ...] = ("walk_forward", "purged_kfold", "cpcv")
#: the training unit of a model pooled over the run's tickers (tickers are upper case, so it never clashes)
POOLED = "pooled"
#: registry features whose value follows the sign of returns over more than 5 bars: the levels of trends and
#: oscillators. Within a test block of a random walk such a level carries the block's earlier labels (a demeaned
#: near-unit-root level looks mean-reverting in any finite sample, the Dickey-Fuller bias): a model reading them
#: learns that mean reversion in its training fold and scores above chance within the test folds on pure noise
#: (-sma_dist_200 alone: per-fold AUC 0.549 on dir_5 over 500-row blocks of random walks). Models skip them unless
#: `TrainingConfig.trend_levels`; the returns of the last 5 bars, volatility, volume and calendar features stay.
TREND_LEVEL_FEATURES: tuple[str, ...] = (
    "ret_10", "ret_20", "roc_10", "mom_10", "rsi_9", "rsi_14", "rsi_21", "stoch_k", "stoch_d", "willr_14", "cci_14",
    "macd", "macd_signal", "macd_hist", "mfi_14", "obv", "cmf_20", "vwap_dist_20", "bb_pctb_20", "keltner_pos_20",
    "bb_upper_20", "bb_middle_20", "bb_lower_20", "sma_cross_5_20", "sma_cross_50_200", "rel_strength_20",
    *(f"{kind}_dist_{n}" for kind in ("sma", "ema") for n in (10, 20, 50, 200)))
#: Optuna trials when `tuning_trials` is None: none. On planted AR(1) edges 8 trials tuned on the inner folds (a few
#: hundred rows each) did not raise the within-fold edge recovered (xgboost's fell; README) and cost 4-8 times as
#: much: the search spaces stay for FA_TUNING_TRIALS, and the defaults are what was measured
DEFAULT_TRIALS: Mapping[str, int] = MappingProxyType({"xgboost": 0, "logistic": 0})


@dataclass(frozen=True)
class TrainingConfig:
    """What to train and how to evaluate it; every default is small enough for a ticker on 2 CPU cores."""

    model_type: str = "xgboost"
    label: str = "dir_1"  # dir_<h> (its end time t1_<h>) or tb_label (end time tb_t1, +1 -> up); README: why dir_1
    ticker: str | None = None  # None: the frame's only ticker, or every ticker when pooled
    pooled: bool = False  # one model over every ticker of the frame
    lookback: int = 60  # bars per sequence window (lstm, transformer)
    cv: str = "walk_forward"  # outer splitter, one of CV_KINDS
    n_splits: int = 5  # outer folds (groups for cpcv)
    cpcv_test_groups: int = 2
    inner_splits: int = 2  # walk-forward splits of a training fold for the tuner
    embargo: int | None = None  # bars after each test block; None: the label horizon
    tuning_trials: int | None = None  # Optuna trials per search; None: DEFAULT_TRIALS for the model
    calibration: str = "platt"  # or "isotonic" (steps on a few hundred rows: see models.calibration)
    min_calibration_rows: int = 50  # fewer test rows of the serving fold: no calibrated probability
    validation_fraction: float = 0.2  # inner early-stopping slice at the end of a training fold
    block_length: int | None = None  # bootstrap block in bars; None: max(horizon, ceil(n ** (1/3)))
    n_boot: int = 1000
    permutation_repeats: int = 1  # 0 skips permutation importance
    top_n: int = 15  # features listed in the report
    seed: int = 0
    device: str = "auto"  # torch: "auto" (cuda when available), "cpu" or "cuda"
    # xgboost n_jobs and torch threads. 1: parallelise over tickers instead; on shared cores OpenMP
    # spin-waiting made 2-thread fits 3-40x slower than 1-thread ones here
    threads: int = 1
    trend_levels: bool = False  # models also read TREND_LEVEL_FEATURES (biased within folds on noise: see above)
    params: Mapping[str, float | int] = field(default_factory=dict, hash=False)  # fixed model hyperparameters

    def model_features(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The feature columns models read, of a training table's `names`."""
        return names if self.trend_levels else tuple(n for n in names if n not in TREND_LEVEL_FEATURES)

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {self.model_type!r}")
        if self.cv not in CV_KINDS:
            raise ValueError(f"cv must be one of {CV_KINDS}, got {self.cv!r}")
        if self.calibration not in ("isotonic", "platt"):
            raise ValueError(f"calibration must be 'isotonic' or 'platt', got {self.calibration!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if self.lookback < 1 or self.n_splits < 2 or self.inner_splits < 2 or self.threads < 1:
            raise ValueError("lookback >= 1, n_splits >= 2, inner_splits >= 2 and threads >= 1 are required")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {self.validation_fraction}")
        object.__setattr__(self, "params", dict(self.params))  # a private copy (a mappingproxy would not pickle)

    @property
    def trials(self) -> int:
        """Optuna trials per search for this model type."""
        if self.tuning_trials is not None:
            return int(self.tuning_trials)
        return DEFAULT_TRIALS.get(self.model_type, 0)

    def as_params(self) -> dict[str, str | int | float | bool | None]:
        """Flat parameters for a tracking server."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "params"}
        out.update({f"param_{key}": value for key, value in self.params.items()})
        return out
