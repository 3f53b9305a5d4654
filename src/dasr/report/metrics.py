"""The evaluation results a report shows: the ``metrics.json`` that ``dasr eval --out`` writes.

Its shape (``dasr.evaluation.metrics_table.report_json``): ``images`` (one object per image:
``name``, ``sr``, ``hr``, ``cropped`` and one number per metric, ``null`` where not finite, i.e. an
infinite PSNR), ``mean``, and optionally ``distances`` (FID/KID of the sets), ``protocol`` and
``notices``. The last three are shown as notes because they say how far the figures compare.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dasr.errors import DasrError
from dasr.evaluation.metrics_table import JSON_NAME

EVAL_METRICS = Path("eval") / JSON_NAME
"""Where ``dasr eval --out RUN/eval`` leaves its results, looked for when --metrics is not given."""

_NOT_METRICS = {"name", "sr", "hr", "cropped"}

Scores = dict[str, "float | None"]


@dataclass
class MetricsTable:
    source: Path
    columns: list[str]
    rows: list[tuple[str, Scores]]
    cropped: set[str]
    """Images whose SR and HR sizes differed slightly and were cropped to the common size."""
    mean: Scores
    notes: list[str]
    files: dict[str, tuple[Path, Path]]
    """Image name -> (SR, HR) image files, where the row names both (paths as written)."""


def read_metrics(path: Path) -> MetricsTable:
    """Read and check a metrics file; a malformed one is a one-line error naming what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DasrError(f"metrics file '{path}' cannot be read: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise DasrError(f"metrics file '{path}' is not valid JSON: {error.msg} at line {error.lineno}") from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list) or not all(isinstance(row, dict) and "name" in row for row in images):
        raise DasrError(
            f"metrics file '{path}' needs an 'images' list of objects with a 'name' (dasr eval's {JSON_NAME})"
        )
    rows = [(str(row["name"]), _scores(row)) for row in images]
    mean = _scores(data.get("mean") or {})
    columns = list(dict.fromkeys([*(name for _, scores in rows for name in scores), *mean]))
    return MetricsTable(
        Path(path),
        columns,
        rows,
        {str(row["name"]) for row in images if row.get("cropped")},
        mean,
        _notes(data),
        {
            str(row["name"]): (Path(row["sr"]), Path(row["hr"]))
            for row in images
            if isinstance(row.get("sr"), str) and isinstance(row.get("hr"), str)
        },
    )


def _scores(row: dict[str, Any]) -> Scores:
    return {
        str(name): None if value is None else float(value)
        for name, value in row.items()
        if name not in _NOT_METRICS and (value is None or _is_number(value))
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _notes(data: dict[str, Any]) -> list[str]:
    notes = []
    for heading, key in (("Set-level distances", "distances"), ("Protocol", "protocol")):
        if isinstance(data.get(key), dict):
            items = [f"{name} {value:.5g}" if isinstance(value, float) else f"{name} {value}"
                     for name, value in data[key].items() if value is not None]
            notes.append(f"{heading}: {'; '.join(items)}.")
    notices = data.get("notices")
    return notes + ([str(notice) for notice in notices] if isinstance(notices, list) else [])
