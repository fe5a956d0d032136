"""The training set as of a date: labelled rows whose label end t1 is at or before the as-of date.

A `Panel` holds every feature row known at the as-of date (date <= D), sorted by ticker then date,
so sequence windows can look back over earlier feature rows of the same ticker. A `Dataset` adds the
labelled rows: their panel positions sorted by (date, ticker) as the splitters expect, the binary
label and its own end time. Nothing dated after D is read, and no label ending after D is used.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.models.config import TrainingConfig

_LABEL = re.compile(r"^(fwd_ret|dir|t1)_\d+$|^tb_|^t1$")
KEY_COLUMNS: tuple[str, ...] = ("ticker", "date")


def is_label_column(name: str) -> bool:
    """True for every forward-looking column of `financial_assets.labels.compute` (fwd_ret_h, dir_h, t1_h, tb_*, t1)."""
    return bool(_LABEL.match(name))


def label_source(label: str) -> tuple[str, str]:
    """The value column and the end-time column of a label choice: dir_<h> ends at t1_<h>, tb_label at tb_t1."""
    if label == "tb_label":
        return "tb_label", "tb_t1"
    match = re.fullmatch(r"dir_(\d+)", label)
    if match is None:
        raise ValueError(f"label must be dir_<h> or tb_label, got {label!r}")
    return label, f"t1_{match.group(1)}"


def feature_names(frame: pd.DataFrame) -> tuple[str, ...]:
    """Every column that is neither a key nor a label, in frame order; all must be numeric."""
    names = tuple(c for c in frame.columns if c not in KEY_COLUMNS and not is_label_column(str(c)))
    bad = [c for c in names if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if bad:
        raise ValueError(f"feature columns must be numeric, got {bad}")
    return names


@dataclass(frozen=True)
class Panel:
    """Feature rows sorted by ticker then date; `group_start[i]` is the first row of row i's ticker."""

    features: np.ndarray  # (rows, features) float64
    names: tuple[str, ...]
    tickers: np.ndarray
    dates: np.ndarray  # datetime64[ns]
    group_start: np.ndarray  # int64

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, names: tuple[str, ...]) -> Panel:
        """A panel of `names` from a frame with ticker and date columns (any row order)."""
        sorted_frame = _sorted(frame)
        tickers = sorted_frame["ticker"].to_numpy(dtype=object)
        first = np.r_[True, tickers[1:] != tickers[:-1]] if len(tickers) else np.zeros(0, bool)
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(tickers)), 0))
        missing = [n for n in names if n not in sorted_frame.columns]
        if missing:
            raise ValueError(f"feature columns missing: {missing}")
        values = sorted_frame[list(names)].to_numpy(dtype=np.float64, na_value=np.nan)
        values[~np.isfinite(values)] = np.nan  # an infinite ratio is as unknown as a missing one
        return cls(values, tuple(names), tickers, sorted_frame["date"].to_numpy(dtype="datetime64[ns]"), group_start)

    def column(self, name: str) -> np.ndarray:
        """One feature's values over every row."""
        if name not in self.names:
            raise ValueError(f"the panel has no feature {name!r}")
        return self.features[:, self.names.index(name)]

    def with_features(self, features: np.ndarray) -> Panel:
        """The same rows with other feature values (permutation importance, perturbation tests)."""
        return replace(self, features=features)

    def select(self, names: tuple[str, ...]) -> Panel:
        """The same rows with only the feature columns `names`, in that order."""
        return replace(self, features=self.features[:, [self.names.index(n) for n in names]], names=tuple(names))


@dataclass(frozen=True)
class DataDescription:
    """Which data a model was trained on: enough to find the rows again and to tell two runs apart."""

    tickers: tuple[str, ...]
    label: str
    as_of: pd.Timestamp
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    last_label_end: pd.Timestamp | None
    rows: int
    features: int
    horizon: int
    data_hash: str

    def as_metadata(self) -> dict[str, str | int]:
        """Flat string/int values for run metadata."""
        def day(value: pd.Timestamp | None) -> str:
            return "" if value is None else value.strftime("%Y-%m-%d")
        return {"tickers": ",".join(self.tickers), "label": self.label, "as_of": day(self.as_of),
                "first_date": day(self.first_date), "last_date": day(self.last_date),
                "last_label_end": day(self.last_label_end), "rows": self.rows, "features": self.features,
                "horizon": self.horizon, "data_hash": self.data_hash}


@dataclass(frozen=True)
class Dataset:
    """Labelled rows known by the as-of date, in (date, ticker) order, pointing into the panel."""

    panel: Panel
    rows: np.ndarray  # panel row of each sample
    y: np.ndarray  # 1.0 up, 0.0 not up
    t0: np.ndarray  # datetime64[ns], sorted
    t1: np.ndarray  # datetime64[ns], label end
    description: DataDescription

    @property
    def horizon(self) -> int:
        """The longest label span in bars: the default embargo and bootstrap block length."""
        return self.description.horizon

    def t1_series(self) -> pd.Series:
        """Label end times indexed by t0, the splitters' input."""
        return pd.Series(self.t1, index=pd.DatetimeIndex(self.t0, name="t0"), name="t1")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(date=pd.to_datetime(frame["date"])).sort_values(["ticker", "date"], kind="stable")
    if out.duplicated(["ticker", "date"]).any():
        raise ValueError("the frame has duplicate (ticker, date) rows")
    return out.reset_index(drop=True)


def _select_tickers(frame: pd.DataFrame, config: TrainingConfig) -> pd.DataFrame:
    tickers = pd.unique(frame["ticker"])
    if config.pooled:
        return frame
    if config.ticker is not None:
        chosen = frame[frame["ticker"] == config.ticker]
        if chosen.empty:
            raise BarDataError("ticker_rows", "no rows of this ticker in the training table (held back, or no bars "
                               "yet)", ticker=config.ticker)
        return chosen
    if len(tickers) != 1:
        raise ValueError(f"the frame holds {len(tickers)} tickers: set config.ticker or config.pooled")
    return frame


def _horizon(panel: Panel, rows: np.ndarray, t1: np.ndarray) -> int:
    """Most bars between a row's date and its label end, counted on its ticker's own dates."""
    span = 1
    for start in np.unique(panel.group_start[rows]):
        end = np.searchsorted(panel.group_start, start, side="right")
        dates = panel.dates[start:end]
        mine = panel.group_start[rows] == start
        ahead = np.searchsorted(dates, t1[mine]) - (rows[mine] - start)
        span = max(span, int(ahead.max()))
    return span


def data_hash(panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> str:
    """SHA-256 (16 hex digits) of the training rows: tickers, dates, feature names and values, labels, ends."""
    digest = hashlib.sha256()
    digest.update("\0".join(panel.names).encode())
    digest.update("\0".join(map(str, panel.tickers[rows])).encode())
    values = panel.features[rows]
    for array in (panel.dates[rows].astype(np.int64), np.where(np.isnan(values), np.nan, values), y,
                  t1.astype(np.int64)):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def build_dataset(frame: pd.DataFrame, config: TrainingConfig, as_of: pd.Timestamp | str) -> Dataset:
    """The rows of `frame` usable as of `as_of`: features of every row dated <= as_of, labels ending <= as_of."""
    as_of = pd.Timestamp(as_of)
    value_column, end_column = label_source(config.label)
    for column in ("ticker", "date", value_column, end_column):
        if column not in frame.columns:
            raise ValueError(f"the frame has no {column!r} column")
    chosen = _select_tickers(frame, config)
    known = _sorted(chosen[pd.to_datetime(chosen["date"]) <= as_of])
    panel = Panel.from_frame(known, feature_names(known))
    value = known[value_column].to_numpy(dtype=float)
    end = known[end_column].to_numpy(dtype="datetime64[ns]")
    eligible = ~np.isnan(value) & ~np.isnat(end) & (end <= as_of.to_datetime64())
    rows = np.flatnonzero(eligible)
    rows = rows[np.lexsort((panel.tickers[rows].astype(str), panel.dates[rows]))]
    y = (value[rows] > 0).astype(np.float64)  # dir_h is 1/0 already; tb_label +1 -> 1, -1 -> 0
    t0, t1 = panel.dates[rows], end[rows]
    some = len(rows) > 0
    description = DataDescription(
        tickers=tuple(sorted(map(str, pd.unique(panel.tickers[rows])))), label=config.label, as_of=as_of,
        first_date=pd.Timestamp(t0[0]) if some else None, last_date=pd.Timestamp(t0[-1]) if some else None,
        last_label_end=pd.Timestamp(t1.max()) if some else None, rows=len(rows), features=len(panel.names),
        horizon=_horizon(panel, rows, t1) if some else 1, data_hash=data_hash(panel, rows, y, t1))
    return Dataset(panel, rows, y, t0, t1, description)
