"""The comparison of methods: several methods' SR of the same validation pairs, side by side.

A method is given by the ``dasr eval`` metrics.json of its SR images (``Method``). That file
names every SR image and its HR, so the pictures and the figures both come from it, and every
metric it holds is shown: a metric added to ``dasr eval`` appears here without a change. The
slider compares the last method (usually the run the report is about) with the one before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from dasr.report.comparison import side_by_side, slider
from dasr.report.images import load_rgb
from dasr.report.metrics import MetricsTable, read_metrics
from dasr.report.sections import note, scores_table


@dataclass(frozen=True)
class Method:
    """One method of a comparison: its name in the report and the metrics.json of its SR."""

    label: str
    metrics: Path


def methods_body(methods: Sequence[Method]) -> str:
    """The mean of every metric per method, then each image: every method's SR next to the HR,
    its figures, and a slider between the last two methods."""
    tables = [(method.label, read_metrics(method.metrics)) for method in methods]
    columns = list(dict.fromkeys(column for _, table in tables for column in table.columns))
    names = list(dict.fromkeys(name for _, table in tables for name, _ in table.rows))
    sources = "; ".join(f"{label}: {table.source}" for label, table in tables)
    notes = dict.fromkeys(text for _, table in tables for text in table.notes)
    pairs = f"{len(names)} validation pair{'s' if len(names) != 1 else ''}"
    parts = [note(f"{len(methods)} methods on the same {pairs} ({sources})."),
             *(note(text) for text in notes),
             scores_table("method", columns, [(label, table.mean) for label, table in tables],
                          caption=f"mean of the {pairs}")]
    for name in names:
        parts.append(_image(name, tables, columns))
    return "".join(parts)


def _image(name: str, tables: list[tuple[str, MetricsTable]], columns: list[str]) -> str:
    panels, missing, hr = [], [], None
    for label, table in tables:
        if name not in table.files:
            continue
        sr_path, hr_path = table.files[name]
        if sr_path.is_file():
            panels.append((load_rgb(sr_path), label))
        else:
            missing.append(f"{label}: SR image '{sr_path}' not found.")
        if hr is None and hr_path.is_file():
            hr = load_rgb(hr_path)
    scores = [(label, dict(table.rows)) for label, table in tables]
    parts = [side_by_side(name, panels + ([(hr, "HR")] if hr is not None else [])),
             *(note(text) for text in missing),
             scores_table("method", columns, [(label, rows[name]) for label, rows in scores if name in rows])]
    if len(panels) >= 2:
        (before, before_label), (after, after_label) = panels[-2:]
        before, after = _common_size(before, after)
        parts.append(slider(before, after, f"{name}: {before_label} vs {after_label}", (before_label, after_label)))
    return "".join(parts)


def _common_size(first: Image.Image, second: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Both cut (bottom/right) to their common size, as the metrics pair SR and HR."""
    box = (0, 0, min(first.width, second.width), min(first.height, second.height))
    return first.crop(box), second.crop(box)
