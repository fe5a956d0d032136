"""The models family: folds, trained models with their promotion decisions, predictions, and their checks."""
