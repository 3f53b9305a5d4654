"""``dasr report``: a run folder as one self-contained HTML page (configuration, a comparison
of methods, samples, a before/after slider, domain-distance maps, training curves, evaluation
metrics)."""

from dasr.report.html import build_report
from dasr.report.methods import Method

__all__ = ["Method", "build_report"]
