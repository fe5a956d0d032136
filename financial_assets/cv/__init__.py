"""Cross-validation splitters with purging and embargo for overlapping labels; plain Python, no Dagster."""

from financial_assets.cv.assignment import ROLES, fold_assignment, fold_summary
from financial_assets.cv.base import PurgedSplitter
from financial_assets.cv.combinatorial import CombinatorialPurgedCV
from financial_assets.cv.kfold import PurgedKFold
from financial_assets.cv.purge import Fold, purge
from financial_assets.cv.times import SampleTimes
from financial_assets.cv.walk_forward import WalkForward

__all__ = ["ROLES", "CombinatorialPurgedCV", "Fold", "PurgedKFold", "PurgedSplitter", "SampleTimes", "WalkForward",
           "fold_assignment", "fold_summary", "purge"]
