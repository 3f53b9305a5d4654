"""``dasr report``: a run folder as one self-contained HTML page (configuration, samples, a
before/after slider, domain-distance maps, training curves, evaluation metrics)."""

from dasr.report.html import build_report

__all__ = ["build_report"]
