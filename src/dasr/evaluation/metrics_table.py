"""Evaluation results: per-image scores, their mean, the printed table, metrics.csv/json.

Full precision goes to the files; the table rounds like the paper's tables (PSNR to 3 decimals,
SSIM and LPIPS to 4; HaarPSI, MS-SSIM and GMSD to 4, the HF energies to 3). An infinite PSNR
(identical images) is written ``inf`` in the CSV and ``null`` in the JSON, which has no infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dasr.files.tables import (
    align_columns,
    finite_or_none,
    json_text,
    records_csv,
    write_text_files,
)

METRICS = ("psnr", "ssim", "psnr_y", "ssim_y", "lpips", "haarpsi", "ms_ssim", "gmsd", "hf", "hf_hr")
"""Per-image metrics, in column order; ``lpips`` (no weights) and ``ms_ssim`` (small images) are
left out when they were not computed. ``hf``/``hf_hr``: high-frequency energy of SR and of HR
in 8-bit levels (:mod:`dasr.metrics.high_frequency`); SR above HR means sharpened noise."""
HEADINGS = {
    "psnr": "PSNR", "ssim": "SSIM", "psnr_y": "PSNR-Y", "ssim_y": "SSIM-Y", "lpips": "LPIPS",
    "haarpsi": "HaarPSI", "ms_ssim": "MS-SSIM", "gmsd": "GMSD", "hf": "HF", "hf_hr": "HF-HR",
}
DECIMALS = {
    "psnr": 3, "ssim": 4, "psnr_y": 3, "ssim_y": 4, "lpips": 4,
    "haarpsi": 4, "ms_ssim": 4, "gmsd": 4, "hf": 3, "hf_hr": 3,
}
CSV_NAME = "metrics.csv"
JSON_NAME = "metrics.json"


@dataclass(frozen=True)
class ImageScores:
    """The scores of one SR image against its HR reference."""

    name: str
    sr: Path
    hr: Path
    cropped: bool
    """True when SR and HR differed by a few pixels and were cropped to their common size."""
    values: dict[str, float]
    """Metric name (see ``METRICS``) -> value."""


@dataclass
class EvaluationReport:
    """Everything one evaluation measured, and how (``protocol``), ready to print or save."""

    images: list[ImageScores]
    protocol: dict[str, Any]
    distances: dict[str, Any] | None = None
    """FID/KID between the SR and HR sets and the features used, when measured."""
    notices: list[str] = field(default_factory=list)
    """One-line notes for the user: skipped metrics, caveats."""

    @property
    def metrics(self) -> list[str]:
        return [name for name in METRICS if self.images and name in self.images[0].values]

    def mean(self) -> dict[str, float]:
        count = len(self.images)
        return {name: math.fsum(image.values[name] for image in self.images) / count for name in self.metrics}


def format_score(value: float, metric: str) -> str:
    """``value`` rounded as the paper's tables round ``metric`` (4 decimals for other figures)."""
    return f"{value:.{DECIMALS.get(metric, 4)}f}"


def format_table(report: EvaluationReport) -> str:
    """Per-image rows, the mean, FID/KID and a footnote on cropped pairs, as aligned text."""
    metrics = report.metrics
    rows = [["image", *(HEADINGS[name] for name in metrics)]]
    rows += [
        [image.name + ("*" if image.cropped else ""), *(format_score(image.values[name], name) for name in metrics)]
        for image in report.images
    ]
    mean = report.mean()
    rows.append([f"mean ({len(report.images)})", *(format_score(mean[name], name) for name in metrics)])
    lines = align_columns(rows).split("\n")
    lines.insert(-1, "-" * len(lines[0]))
    if any(image.cropped for image in report.images):
        lines.append("* SR and HR sizes differed by less than the scale; both cropped bottom/right to the common size")
    if report.distances:
        d = report.distances
        lines.append(
            f"FID {d['fid']:.3f}  KID {d['kid']:.5f} ± {d['kid_std']:.5f}  "
            f"({d['sr_images']} SR vs {d['hr_images']} HR images, {d['features']})"
        )
    return "\n".join(lines)


def report_json(report: EvaluationReport) -> dict[str, Any]:
    """The report as plain JSON data (paths as strings, infinities as null)."""
    return {
        "protocol": report.protocol,
        "mean": {name: finite_or_none(value) for name, value in report.mean().items()},
        "distances": report.distances,
        "images": [
            {
                "name": image.name,
                "sr": str(image.sr),
                "hr": str(image.hr),
                "cropped": image.cropped,
                **{name: finite_or_none(value) for name, value in image.values.items()},
            }
            for image in report.images
        ],
        "notices": report.notices,
    }


def report_csv(report: EvaluationReport) -> str:
    """One row per image and a last row ``mean`` (paths empty), values at full precision."""
    rows = [{"name": image.name, "sr": image.sr, "hr": image.hr, "cropped": int(image.cropped),
             **{name: image.values[name] for name in report.metrics}} for image in report.images]
    return records_csv([*rows, {"name": "mean", "sr": "", "hr": "", "cropped": "", **report.mean()}])


def write_report(report: EvaluationReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``metrics.csv`` and ``metrics.json`` into ``out_dir``, each replaced atomically."""
    csv_path, json_path = out_dir / CSV_NAME, out_dir / JSON_NAME
    write_text_files({csv_path: report_csv(report), json_path: json_text(report_json(report))}, "--out")
    return csv_path, json_path
