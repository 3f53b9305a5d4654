"""Printing and saving the ablation tables in the paper's layout.

Table 1 is a grid like the paper's: rows = the DSN's input, columns = the adversarial filter,
each cell ``PSNR / SSIM`` (``/ LPIPS`` when measured), with the bicubic downscale as the
reference line. Table 2 has the paper's six columns and check-mark rows for the ingredients,
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
from dasr.pipeline.ablate import REFERENCE, AblationData, Result, run_table1, run_table2
from dasr.pipeline.ablation_variants import DSN_FILTERS, DSN_INPUTS

_DECIMALS = {"psnr": 3, "ssim": 4, "psnr_y": 3, "ssim_y": 4, "lpips": 4}
_HEADINGS = {"psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS"}
_SHOWN = ("psnr", "ssim", "lpips")
"""The paper's metrics (RGB PSNR/SSIM, LPIPS); the files also hold the Y-channel values."""


def _number(scores: dict[str, float | None], metric: str) -> str:
    value = scores.get(metric)
    return "-" if value is None else f"{value:.{_DECIMALS[metric]}f}"


def _shown(results: list[Result]) -> list[str]:
    return [metric for metric in _SHOWN if any(result.scores.get(metric) is not None for result in results)]


def _align(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0]), *map(str.rjust, row[1:], widths[1:])]).rstrip() for row in rows
    )


def format_table1(results: list[Result]) -> str:
    """The DSN grid (input x filter) of generated LR vs real LR, and the bicubic reference."""
    metrics = _shown(results)
    cell = {result.variant.settings: " / ".join(_number(result.scores, m) for m in metrics) for result in results}
    reference = next(result for result in results if result.variant == REFERENCE)
    rows = [["input \\ filter", *DSN_FILTERS.values()]]
    rows += [
        [label, *(cell.get((("dsn.input", source), ("dsn.filter", kind)), "") for kind in DSN_FILTERS)]
        for source, label in DSN_INPUTS.items()
    ]
    what = " / ".join(_HEADINGS[metric] for metric in metrics)
    return "\n".join([
        f"Table 1: generated LR vs real LR of the validation pairs ({what}; RGB, border = scale)",
        _align(rows),
        f"reference, {REFERENCE.label}: {' / '.join(_number(reference.scores, metric) for metric in metrics)}",
    ])


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
    rows += [[_HEADINGS[metric], *(_number(r.scores, metric) for r in results)] for metric in _shown(results)]
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
