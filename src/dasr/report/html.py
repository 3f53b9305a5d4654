"""``dasr report``: one self-contained HTML file about a run.

Everything is inside the file (images as data URIs, inline SVG charts, inline CSS and a few lines
of script for the slider) and its Content-Security-Policy forbids loading anything else, so the
report can be mailed, archived or opened offline and shows the same thing everywhere.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from dasr.errors import DasrError
from dasr.files.atomic import atomic_write
from dasr.report.comparison import dsn_sample_body, sr_section_body
from dasr.report.methods import Method, methods_body
from dasr.report.metrics import EVAL_METRICS, read_metrics
from dasr.report.sections import (
    config_body,
    curves_body,
    heatmaps_body,
    metrics_body,
    note,
)
from dasr.report.source import RunSource, open_run

REPORT_FILE_NAME = "report.html"


def build_report(
    run: Path, out: Path | None = None, metrics: Path | None = None, methods: Sequence[Method] = ()
) -> Path:
    """Write the report of run folder ``run`` to ``out`` (default ``RUN/report.html``), atomically;
    ``metrics``: a ``dasr eval`` metrics.json (default ``RUN/eval/metrics.json`` when present);
    ``methods``: other methods' results on the same validation pairs, compared side by side."""
    source = open_run(run)
    out = Path(out) if out is not None else source.root / REPORT_FILE_NAME
    if out.is_dir():
        raise DasrError(f"--out '{out}' is a folder; give a file name such as {out / REPORT_FILE_NAME}")
    if not out.parent.is_dir():
        raise DasrError(f"--out '{out}': folder '{out.parent}' does not exist")
    if metrics is None and (source.root / EVAL_METRICS).is_file():
        metrics = source.root / EVAL_METRICS
    page = render_page(source, metrics, methods)
    with atomic_write(out, "w") as handle:
        handle.write(page)
    return out


def render_page(source: RunSource, metrics: Path | None, methods: Sequence[Method] = ()) -> str:
    sections = [
        ("config", "Configuration", config_body(source)),
        *([("methods", "Comparison of methods", methods_body(methods))] if methods else []),
        ("sr", "Super-resolution: LR, SR, HR", _sr(source)),
        ("degradation", "Stage 1: learned degradation", _degradation(source)),
        ("maps", "Domain-distance maps", _maps(source)),
        ("curves", "Training curves", _curves(source)),
        ("metrics", "Metrics", metrics_body(read_metrics(metrics)) if metrics is not None else note(
            f"No evaluation results: run dasr eval with --out {source.root / EVAL_METRICS.parent}, "
            "or pass --metrics FILE.")),
    ]
    values = {
        "title": html.escape(f"dasr report: {source.root.resolve().name}"),
        "subtitle": html.escape(f"dasr {source.kind} run in {source.root.resolve()}; "
                                f"report made {time.strftime('%Y-%m-%d %H:%M')}"),
        "nav": "".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections),
        "sections": "\n".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>'
                              for key, title, body in sections),
    }
    template = files("dasr.report").joinpath("template.html").read_text(encoding="utf-8")
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], template)


def _sr(source: RunSource) -> str:
    if source.srn is None:
        why = "stage 2 has not started yet" if source.kind == "fit" else "a train-dsn run has no SR network"
        return note(f"Not applicable: {why}.")
    return sr_section_body(source.srn)


def _degradation(source: RunSource) -> str:
    if source.dsn is None:
        why = "stage 1 was skipped (srn.pairs=bicubic)" if source.kind == "fit" else "a train-srn run has no DSN"
        return note(f"Not applicable: {why}.")
    return dsn_sample_body(source.dsn)


def _maps(source: RunSource) -> str:
    if source.pairs_dir is not None:
        return heatmaps_body(source.pairs_dir)
    if source.kind == "fit":
        bicubic = source.config.srn.pairs == "bicubic"
        return note("Not applicable: " + ("stage 1.5 was skipped (srn.pairs=bicubic)." if bicubic
                                          else "stage 1.5 has not finished an image yet."))
    return note(f"Not applicable: a {source.kind} run folder holds no maps; dasr generate writes them to its --out.")


def _curves(source: RunSource) -> str:
    stages = [(stage, title) for stage, title in ((source.dsn, "Stage 1: down-sampling network (DSN)"),
                                                  (source.srn, "Stage 2: super-resolution network (SRN)"))
              if stage is not None]
    return "".join(curves_body(stage, title) for stage, title in stages)
