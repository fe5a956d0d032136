"""The model store: a saved predictor loads back as trained, once per loader, and a rerun's model replaces it."""

from __future__ import annotations

import pandas as pd

from financial_assets.defs.models.resources import ModelStoreResource
from financial_assets.defs.resources import LakeResource
from financial_assets.models import Predictor

AS_OF = pd.Timestamp("2012-06-29")


def _row(unit: str) -> pd.Series:
    """The trained_model columns a predictor is found by."""
    return pd.Series({"unit": unit, "date": AS_OF, "model_type": "logistic"})


def test_a_saved_predictor_loads_back_as_it_was_saved(tmp_path):
    store = ModelStoreResource(lake=LakeResource(data_dir=str(tmp_path)))
    path = store.save_model(Predictor(("f0", "f1"), None, None, base_rate=0.53), "ACME", AS_OF, "logistic")
    loaded = store.load_model("ACME", AS_OF, "logistic")
    assert path.exists() and loaded.features == ("f0", "f1") and loaded.base_rate == 0.53


def test_a_loader_reads_each_model_once_and_a_new_loader_sees_a_rerun(tmp_path):
    store = ModelStoreResource(lake=LakeResource(data_dir=str(tmp_path)))
    store.save_model(Predictor(("f0",), None, None, base_rate=0.5), "ACME", AS_OF, "logistic")
    load = store.loader()
    first = load(_row("ACME"))
    store.save_model(Predictor(("f0",), None, None, base_rate=0.6), "ACME", AS_OF, "logistic")  # a rerun of AS_OF
    assert load(_row("ACME")) is first and first.base_rate == 0.5  # one run reads a model once
    assert store.loader()(_row("ACME")).base_rate == 0.6  # the next run reads the rerun's model
