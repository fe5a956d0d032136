"""Torch sequence models: an LSTM and a small transformer encoder over the last `lookback` feature rows.

The window of a prediction row is the `lookback` fold-scaled feature rows of its ticker ending at that
row (zero, the training mean, before the ticker's first row). Windows read earlier feature rows even
when they belong to a test fold, since features are past data; labels are read for training rows only.
Training: class-weighted BCE, AdamW, gradient clipping, early stopping on the purged validation slice,
fixed seeds, `config.threads` torch threads, CUDA when available and asked for ("auto").
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from financial_assets.models.base import make_preprocessor, one_class
from financial_assets.models.config import TrainingConfig
from financial_assets.models.dataset import Panel
from financial_assets.models.splits import purged_holdout

_PREDICT_BATCH = 1024


def seed_everything(seed: int) -> None:
    """Seed torch, numpy's and python's global generators, so weight init, dropout and any library draw repeat."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with `n` intra-op threads (more than the cores only adds contention), then restore the old count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str) -> torch.device:
    """"auto" is CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def windows(scaled: torch.Tensor, group_start: np.ndarray, rows: np.ndarray, lookback: int) -> torch.Tensor:
    """(len(rows), lookback, features): each row's window, zero-padded before its ticker's first row."""
    index = rows[:, None] - np.arange(lookback - 1, -1, -1)[None, :]
    inside = index >= group_start[rows][:, None]
    index = np.where(inside, index, rows[:, None])
    return scaled[torch.from_numpy(index)] * torch.from_numpy(inside)[..., None].to(scaled.dtype)


class LSTMNet(nn.Module):
    """LSTM over the window; the last hidden state gives the logit."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float, lookback: int):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of windows (batch, lookback, features)."""
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(-1)


class TransformerNet(nn.Module):
    """Pre-norm transformer encoder with learned positions; the last position's state gives the logit."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float, lookback: int, heads: int = 4):
        super().__init__()
        self.embed = nn.Linear(n_features, hidden)
        self.position = nn.Parameter(torch.randn(1, lookback, hidden) * 0.02)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of windows (batch, lookback, features)."""
        return self.head(self.encoder(self.embed(x) + self.position)[:, -1]).squeeze(-1)


class SequenceModel:
    """Trains a sequence network (`net`) on windows ending at the training rows."""

    net: type[nn.Module] = LSTMNet
    defaults: Mapping[str, Any] = {"hidden": 32, "layers": 1, "dropout": 0.1, "lr": 1e-3, "weight_decay": 1e-2,
                                   "epochs": 15, "patience": 3, "batch_size": 128, "clip": 1.0}

    def __init__(self, params: Mapping[str, Any], config: TrainingConfig):
        self.params = {**self.defaults, **params}
        self.lookback, self.seed, self.threads = config.lookback, config.seed, config.threads
        self.fraction, self.device_name = config.validation_fraction, config.device
        self.constant: float | None = None

    @staticmethod
    def suggest(trial: Any) -> dict[str, Any]:
        """Optuna search space."""
        return {"hidden": trial.suggest_categorical("hidden", [16, 32, 64]),
                "dropout": trial.suggest_float("dropout", 0.0, 0.3),
                "lr": trial.suggest_float("lr", 3e-4, 3e-3, log=True),
                "weight_decay": trial.suggest_float("weight_decay", 1e-4, 1e-1, log=True)}

    def _scaled(self, panel: Panel) -> torch.Tensor:
        return torch.as_tensor(self.preprocessor.transform(panel.features), dtype=torch.float32)

    def _logits(self, scaled: torch.Tensor, panel: Panel, rows: np.ndarray) -> torch.Tensor:
        x = windows(scaled, panel.group_start, rows, self.lookback).to(self.device)
        return self.model(x)

    def _eval_logits(self, scaled: torch.Tensor, panel: Panel, rows: np.ndarray) -> torch.Tensor:
        """Logits in evaluation mode, in batches so a long panel's windows never sit in memory at once."""
        self.model.eval()
        with torch.no_grad():
            parts = [self._logits(scaled, panel, rows[start:start + _PREDICT_BATCH])
                     for start in range(0, len(rows), _PREDICT_BATCH)]
        return torch.cat(parts) if parts else torch.zeros(0, device=self.device)

    def fit(self, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> SequenceModel:
        """Train on the windows ending at `rows`, early-stopped on a purged slice at the fold's end."""
        self.constant = one_class(y)
        if self.constant is not None:
            return self
        p = self.params
        self.device = resolve_device(self.device_name)
        with torch_threads(self.threads):
            seed_everything(self.seed)
            self.preprocessor = make_preprocessor().fit(panel.features[rows])
            scaled = self._scaled(panel)
            fit, validation = purged_holdout(panel.dates[rows], t1, self.fraction)
            self.model = self.net(len(panel.names), int(p["hidden"]), int(p["layers"]), float(p["dropout"]),
                                  self.lookback).to(self.device)
            target = torch.as_tensor(y, dtype=torch.float32, device=self.device)
            positives = float(y[fit].sum())
            weight = torch.tensor((len(fit) - positives) / max(positives, 1.0), device=self.device)
            loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)  # class weights: both classes count alike
            optimizer = torch.optim.AdamW(self.model.parameters(), lr=float(p["lr"]),
                                          weight_decay=float(p["weight_decay"]))
            rng = np.random.default_rng(self.seed)
            best, best_state, waited = np.inf, None, 0
            for _ in range(int(p["epochs"])):
                self.model.train()
                order = rng.permutation(fit)
                for start in range(0, len(order), int(p["batch_size"])):
                    batch = order[start:start + int(p["batch_size"])]
                    optimizer.zero_grad()
                    loss = loss_fn(self._logits(scaled, panel, rows[batch]), target[batch])
                    loss.backward()
                    nn.utils.clip_grad_norm_(self.model.parameters(), float(p["clip"]))
                    optimizer.step()
                if len(validation) == 0:
                    continue
                score = float(loss_fn(self._eval_logits(scaled, panel, rows[validation]), target[validation]))
                if score < best:
                    best, best_state, waited = score, copy.deepcopy(self.model.state_dict()), 0
                else:
                    waited += 1
                    if waited >= int(p["patience"]):
                        break
            if best_state is not None:
                self.model.load_state_dict(best_state)
        self.model.eval()
        return self

    def predict_proba(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """P(up) from the window ending at each of `rows`; the training rate if one class."""
        if self.constant is not None:
            return np.full(len(rows), self.constant)
        with torch_threads(self.threads):
            return torch.sigmoid(self._eval_logits(self._scaled(panel), panel, rows)).cpu().numpy().astype(np.float64)


class LSTMModel(SequenceModel):
    """LSTM over the last `lookback` bars."""

    net = LSTMNet


class TransformerModel(SequenceModel):
    """Transformer encoder over the last `lookback` bars."""

    net = TransformerNet
