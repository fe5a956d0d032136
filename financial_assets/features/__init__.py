"""Features: a registry of named indicators and the code that computes them from bars at or before each date.

`indicators` holds every feature's entry beside its formula; `compute` is the engine that runs them.
"""

from financial_assets.features.compute import compute_features, compute_features_panel
from financial_assets.features.registry import DEFAULT_FEATURES, FEATURE_REGISTRY, registry_table, resolve_feature_names
from financial_assets.features.spec import FeatureSpec

__all__ = ["DEFAULT_FEATURES", "FEATURE_REGISTRY", "FeatureSpec", "compute_features", "compute_features_panel",
           "registry_table", "resolve_feature_names"]
