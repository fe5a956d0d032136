"""Non-tabular artefacts (models, reports, charts) next to the Parquet lake, written atomically.

Layout: ``<root>/<asset>/<TICKER>/<YYYY-MM-DD>/<name>``. A write goes to a hidden temporary file
that is renamed into place, so a reader never sees half an artefact.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


class ArtifactStore:
    """Store and read named artefacts of one asset partition (ticker, date) under one root."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, asset: str, ticker: str, date: object, name: str) -> Path:
        """Where artefact `name` of partition (ticker, date) of `asset` lives."""
        return self.root / asset / ticker / pd.Timestamp(date).date().isoformat() / name

    def store(self, asset: str, ticker: str, date: object, name: str, content: bytes | str) -> Path:
        """Write `content` atomically; return the artefact's path."""
        target = self.path(asset, ticker, date, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target

    def read(self, asset: str, ticker: str, date: object, name: str) -> bytes:
        """The bytes of a stored artefact; FileNotFoundError names the missing path."""
        return self.path(asset, ticker, date, name).read_bytes()
