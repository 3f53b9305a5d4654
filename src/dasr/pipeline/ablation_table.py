"""Printing and saving the ablation tables in the paper's layout.

Table 1 is a grid like the paper's: rows = the DSN's input, columns = the adversarial filter,
each cell ``PSNR / SSIM`` (``/ LPIPS`` when measured), with the bicubic downscale (and the true
degradation, when declared) as reference lines; then the same grid of distribution distances and
one of the discriminator check. Table 2 has the paper's six columns and check-mark rows for the ingredients,
then one row per metric. The CSV/JSON files hold one record per variant at full precision.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from dasr.config.schema import Config
from dasr.engine.atomic import atomic_write
from dasr.errors import DasrError
from dasr.evaluation.metrics_table import DECIMALS, HEADINGS
from dasr.pipeline.ablate import REFERENCE, TRUE_REFERENCE, AblationData, Result, run_table1, run_table2
from dasr.pipeline.ablation_variants import DSN_FILTERS, DSN_INPUTS

_SHOWN = ("psnr", "ssim", "lpips")
"""The paper's metrics (RGB PSNR/SSIM, LPIPS); the files also hold the Y-channel values."""
_SHOWN_SR = (*_SHOWN, "haarpsi", "ms_ssim", "gmsd", "hf", "hf_hr")
"""Table 2 adds the weight-free perceptual metrics and the HF energy of SR next to HR's, which
tells a network that sharpens the real LR's noise (SR above HR) from one that over-smooths."""
_DISTANCES = {"jsd_haar": "JSD Haar", "jsd_residual": "JSD residual", "hf_ratio": "HF / real"}
"""Table 1's distribution columns (:mod:`dasr.metrics.distribution`): needing no aligned scenes,
they judge a DSN by the statistics of its LR set, not by one noisy realisation."""
_SCORES = {f"p_{name}": name for name in ("real", "bicubic", "blur", "noise", "true", "generated")}
"""Table 1's discriminator check (:mod:`dasr.stage1_dsn.validation`), for the trained DSNs."""
_DECIMALS = {**DECIMALS, "jsd_haar": 4, "jsd_residual": 4, "hf_ratio": 3, **dict.fromkeys(_SCORES, 3)}


def _number(scores: dict[str, float | None], metric: str) -> str:
    value = scores.get(metric)
    return "-" if value is None else f"{value:.{_DECIMALS[metric]}f}"


def _shown(results: list[Result], metrics: tuple[str, ...] = _SHOWN) -> list[str]:
    return [metric for metric in metrics if any(result.scores.get(metric) is not None for result in results)]


def _align(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0]), *map(str.rjust, row[1:], widths[1:])]).rstrip() for row in rows
    )


def _grid(results: list[Result], metrics: list[str], title: str) -> list[str]:
    """The DSN grid (input x filter), each cell ``metric / metric ...``, and the reference rows
    that have these metrics."""
    def shown(result: Result) -> str:
        return " / ".join(_number(result.scores, m) for m in metrics)

    paper = {(s["dsn.input"], s["dsn.filter"]): r for r in results if (s := dict(r.variant.settings)).get("dsn.arch") == "paper"}
    rows = [["input \\ filter", *DSN_FILTERS.values()]]
    rows += [
        [label, *(shown(paper[source, kind]) if (source, kind) in paper else "" for kind in DSN_FILTERS)]
        for source, label in DSN_INPUTS.items()
    ]
    lines = [title, _align(rows)]
    for result in results:
        settings = dict(result.variant.settings)
        if settings and settings.get("dsn.arch") != "paper":
            lines.append(f"other DSN, {result.variant.label}: {shown(result)}")
        elif result.variant in (REFERENCE, TRUE_REFERENCE) and any(result.scores.get(m) is not None for m in metrics):
            lines.append(f"reference, {result.variant.label}: {shown(result)}")
    return lines


def format_table1(results: list[Result]) -> str:
    """The DSN grids (input x filter) of generated LR vs real LR with the reference rows: the
    paired metrics, the distribution distances, and the discriminator check."""
    metrics = _shown(results)
    what = " / ".join(HEADINGS[metric] for metric in metrics)
    title = f"Table 1: generated LR vs real LR of the validation pairs ({what}; RGB, border = scale)"
    lines = _grid(results, metrics, title)
    distances = _shown(results, tuple(_DISTANCES))
    if distances:
        what = " / ".join(_DISTANCES[metric] for metric in distances)
        lines += ["", *_grid(results, distances, f"LR set vs real LR set, no pairing ({what})")]
    scores = _shown(results, tuple(_SCORES))
    if scores:
        rows = [["", *(_SCORES[metric] for metric in scores)]]
        rows += [[r.variant.label, *(_number(r.scores, m) for m in scores)] for r in results if r.variant.settings]
        lines += ["", "each DSN discriminator's mean P(real LR) on LR sets (columns)", _align(rows)]
    return "\n".join(lines)


def format_table2(results: list[Result]) -> str:
    """The paper's six columns: which ingredients each uses, then SR(val LR) vs val HR."""
    settings = [dict(result.variant.settings) for result in results]
    marks = {
        "bicubic pairs": lambda s: s["srn.pairs"] == "bicubic",
        "generated pairs": lambda s: s["srn.pairs"] == "generated",
        "target-domain GAN": lambda s: s["srn.adversarial"] == "target",
        "map weighting": lambda s: s["srn.weighting"] == "map",
    }
    rows = [["", *(result.variant.name for result in results)]]
    rows += [[name, *("x" if used(s) else "" for s in settings)] for name, used in marks.items()]
    rows += [[HEADINGS[metric], *(_number(r.scores, metric) for r in results)] for metric in _shown(results, _SHOWN_SR)]
    return "Table 2: SR of the validation LR vs its HR (RGB, border = scale)\n" + _align(rows)


def _records(results: list[Result]) -> list[dict]:
    keys = list(dict.fromkeys(key for result in results for key, _ in result.variant.settings))
    metrics = list(dict.fromkeys(metric for result in results for metric in result.scores))
    return [
        {
            "variant": result.variant.name,
            "label": result.variant.label,
            **{key: dict(result.variant.settings).get(key, "") for key in keys},
            **{metric: _finite_or_none(result.scores.get(metric)) for metric in metrics},
        }
        for result in results
    ]


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def write_table(results: list[Result], path_stem: Path) -> tuple[Path, Path]:
    """``<stem>.csv`` and ``<stem>.json`` (one record per variant), each replaced atomically."""
    records = _records(results)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    csv_path, json_path = path_stem.with_suffix(".csv"), path_stem.with_suffix(".json")
    try:
        path_stem.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(csv_path, "w") as handle:
            handle.write(buffer.getvalue())
        with atomic_write(json_path, "w") as handle:
            json.dump(records, handle, indent=2, allow_nan=False)
            handle.write("\n")
    except OSError as error:
        raise DasrError(f"--out: cannot write '{csv_path}': {error.strerror or error}") from error
    return csv_path, json_path


TABLES = {1: (run_table1, format_table1), 2: (run_table2, format_table2)}
"""Table number -> (what trains and scores its variants, what prints it)."""


def ablate(table: int, config: Config, data: AblationData, out: Path, *, show_progress: bool = True) -> str:
    """Run (or resume) one table's variants under ``out``, write ``out/table<N>.csv/.json`` and
    return the printed table."""
    if table not in TABLES:
        raise DasrError(f"--table must be 1 (DSN variants) or 2 (SRN variants), got {table}")
    run, render = TABLES[table]
    results = run(config, data, Path(out), show_progress=show_progress)
    write_table(results, Path(out) / f"table{table}")
    return render(results)
