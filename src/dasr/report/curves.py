"""Training curves as inline SVG drawn here, so the report needs no chart library and no script.

One small chart per quantity, because losses, probabilities, PSNR and learning rate live on
scales that one shared axis would flatten. Related series share a chart: ``adv_g``/``adv_d``,
``p_real``/``p_fake`` (same prefix), and a stage-1 validation figure with its reference rows,
``bicubic_psnr``, ``true_hf``, ``real_hf`` with ``psnr`` or ``hf`` (the DSN's validation compares
itself with bicubic and the true degradation); ratios (``hf_ratio``) get their own chart.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

Points = list[tuple[float, float]]

WIDTH, HEIGHT = 340, 190
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 28, 30
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
MAX_POINTS = 600
"""Longer series are averaged in buckets: enough for the eye, and the file stays small."""
MARKERS_UP_TO = 40

_NOT_SERIES = {"step", "phase", "time"}


def stage_charts(log: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """SVG charts of the training rows, then of the validation rows, and notes on what was left out."""
    training = [row for row in log if row.get("phase") != "val"]
    validation = [row for row in log if row.get("phase") == "val"]
    pretrain = [row["step"] for row in training if row.get("phase") == "pretrain"]
    pretrain_end = max(pretrain) if pretrain and len(pretrain) < len(training) else None
    charts: list[str] = []
    zero: list[str] = []
    for rows, prefix, mark in ((training, "", pretrain_end), (validation, "validation ", None)):
        series = _series(rows)
        zero += [name for name, points in series.items() if all(y == 0 for _, y in points)]
        groups: dict[str, dict[str, Points]] = {}
        for name, points in series.items():
            if name not in zero and points:
                groups.setdefault(_group(name), {})[name] = points
        charts += [line_chart(prefix + ", ".join(group), group, mark=mark) for group in groups.values()]
    notes = [f"always 0, not drawn: {', '.join(zero)}"] if zero else []
    return charts, notes


def line_chart(title: str, series: dict[str, Points], *, mark: float | None = None) -> str:
    """One chart; ``mark`` draws a dashed line at that iteration (the end of pre-training)."""
    series = {name: _thin(points) for name, points in series.items()}
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x_ticks, y_ticks = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT)

    def py(y: float) -> float:
        return HEIGHT - BOTTOM - (y - y0) / (y1 - y0) * (HEIGHT - TOP - BOTTOM)

    last = "; ".join(f"{name} {points[-1][1]:.4g}" for name, points in series.items())
    parts = [
        (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
         f'aria-label="{html.escape(title)}">'),
        f"<title>{html.escape(title)} (last: {html.escape(last)})</title>",
        f'<text x="{LEFT}" y="14" class="chart-title">{html.escape(title)}</text>',
    ]
    for tick in y_ticks:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{py(tick) + 4:.1f}" text-anchor="end">{_label(tick, y_ticks)}</text>')
    for tick in x_ticks:
        parts.append(
            f'<text x="{px(tick):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{_label(tick, x_ticks)}</text>'
        )
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 2}" text-anchor="end" class="axis-name">iteration</text>')
    if mark is not None and x0 < mark < x1:
        parts.append(f'<line x1="{px(mark):.1f}" x2="{px(mark):.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" class="mark"/>')
        parts.append(
            f'<text x="{px(mark) - 3:.1f}" y="{TOP + 10}" text-anchor="end" class="axis-name">pre-training</text>'
        )
    for index, (name, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        if len(points) <= MARKERS_UP_TO:
            parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in points]
        if len(series) > 1:
            parts.append(
                f'<text x="{WIDTH - RIGHT}" y="{14 + 12 * index}" text-anchor="end" fill="{colour}">'
                f"{html.escape(name)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) whose range covers [low, high]."""
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)  # 0.03 / 0.005 = 5.999...
    return [index * step for index in range(first, last + 1)]


def _series(rows: Sequence[dict[str, Any]]) -> dict[str, Points]:
    """Every numeric column of ``rows`` against ``step``, non-finite values (a skipped NaN step) left out."""
    series: dict[str, Points] = {}
    for row in rows:
        for name, value in row.items():
            if name in _NOT_SERIES or not isinstance(value, (int, float)):
                continue
            points = series.setdefault(name, [])
            if math.isfinite(value):
                points.append((float(row["step"]), float(value)))
    return series


def _group(name: str) -> str:
    name = name.removeprefix("bicubic_").removeprefix("true_").removeprefix("real_")
    return name if name.endswith("_ratio") else name.split("_")[0]


def _thin(points: Points) -> Points:
    if len(points) <= MAX_POINTS:
        return points
    size = math.ceil(len(points) / MAX_POINTS)
    buckets = [points[start:start + size] for start in range(0, len(points), size)]
    return [(bucket[-1][0], sum(y for _, y in bucket) / len(bucket)) for bucket in buckets]


def _label(value: float, ticks: list[float]) -> str:
    """As many decimals as the tick step has, so labels read 0.25, 0.5 (not 0.30000000000000004)."""
    step = Decimal(f"{ticks[1] - ticks[0]:.12g}")
    return f"{value:.{max(0, -step.as_tuple().exponent)}f}"
