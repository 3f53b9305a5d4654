"""The public data sets of the paper's experiments: their folder layouts and a checker."""

from dasr.datasets.check import CheckResult, check_dataset, get_layout
from dasr.datasets.layouts import LAYOUTS, ImageSet, Layout

__all__ = ["LAYOUTS", "CheckResult", "ImageSet", "Layout", "check_dataset", "get_layout"]
