"""Features: a registry of named indicators and the code that computes them from bars at or before each date."""

from financial_assets.features.compute import compute_features, compute_features_panel
from financial_assets.features.registry import (
    DEFAULT_FEATURES,
    FEATURE_REGISTRY,
    FeatureSpec,
    registry_table,
    resolve_feature_names,
)

__all__ = ["DEFAULT_FEATURES", "FEATURE_REGISTRY", "FeatureSpec", "compute_features", "compute_features_panel",
           "registry_table", "resolve_feature_names"]
