"""Aligned text tables and CSV/JSON record files: the one writer behind every table dasr prints.

Every result table (``dasr eval``'s metrics, the ablation tables, the demo's comparison, the
spread over seeds) is printed for a person and saved for a program. Keeping both in one place
means one column layout, one way to write files atomically, and one error message when the
output folder cannot be written.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dasr.errors import DasrError
from dasr.files.atomic import atomic_write


def align_columns(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as text: the first column left-aligned (names), the others right-aligned
    (numbers), two spaces apart, trailing spaces removed."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0]), *map(str.rjust, row[1:], widths[1:])]).rstrip() for row in rows
    )


def finite_or_none(value: float | None) -> float | None:
    """JSON has no infinity or NaN: such a value (or a missing one) is written ``null``."""
    return value if value is not None and math.isfinite(value) else None


def records_csv(records: Sequence[dict[str, Any]]) -> str:
    """The records as CSV text with a header of the first record's keys, at full precision."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def write_text_files(files: dict[Path, str], option: str) -> None:
    """Write each file, each replaced atomically (a reader never sees half a table). A folder
    that cannot be written is a one-line error naming ``option`` and the file."""
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "w") as handle:
                handle.write(text)
        except OSError as error:
            raise DasrError(f"{option}: cannot write '{path}': {error.strerror or error}") from error


def json_text(data: Any) -> str:
    """Indented JSON ending in a newline; NaN/infinity refused (see :func:`finite_or_none`)."""
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def write_records(records: Sequence[dict[str, Any]], path_stem: Path, option: str = "--out") -> tuple[Path, Path]:
    """``<stem>.csv`` and ``<stem>.json``, one record each row / list item."""
    csv_path, json_path = path_stem.with_suffix(".csv"), path_stem.with_suffix(".json")
    write_text_files({csv_path: records_csv(records), json_path: json_text(list(records))}, option)
    return csv_path, json_path
