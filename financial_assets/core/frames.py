"""Stacking per-ticker frames, shared by every family that writes one frame per run."""

from __future__ import annotations

import pandas as pd


def concat(frames: list[pd.DataFrame], columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The non-empty frames stacked, or an empty frame with `columns`."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))
