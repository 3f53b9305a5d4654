"""Printing benchmark figures as an aligned text table, and saving them as JSON.

Rows keep raw numbers (what ``--json`` saves); only the printed table formats them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    spec: str = ""
    """Format spec for numbers (``".1f"``); missing values print as ``-``."""


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[Column], indent: str = "  ") -> str:
    """The rows under a header line: the first column left-aligned, the others right-aligned."""
    cells = [[column.header for column in columns]]
    cells += [[_cell(row.get(column.key), column.spec) for column in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return "\n".join(
        indent
        + "  ".join(
            text.ljust(width) if index == 0 else text.rjust(width)
            for index, (text, width) in enumerate(zip(line, widths))
        ).rstrip()
        for line in cells
    )


def write_json(path: Path, figures: Mapping[str, object]) -> None:
    """Save the figures of one run for scripts (``--json PATH``)."""
    path.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")


def _cell(value: object, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return str(value)
