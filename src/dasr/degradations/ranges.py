"""Parameter ranges of degradation steps: declared once, checked with messages, drawn per image.

A range in a configuration is either a fixed value (``0.5``, ``"bicubic"``) or, for numbers, a
``[low, high]`` pair drawn uniformly (inclusive integers for integer parameters), or, for
choices, a list of options drawn with equal probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dasr.errors import DasrError


@dataclass(frozen=True)
class Param:
    """One parameter of a step: its default range and what values are physically allowed."""

    default: Any
    low: float = 0.0
    high: float = float("inf")
    integer: bool = False
    choices: tuple[str, ...] = ()


def check_range(param: Param, spec: Any, where: str) -> Any:
    """``spec`` normalised (a float/int, a ``[low, high]`` list, or a list of choices), or a
    DasrError naming ``where`` (e.g. ``step 2 (noise): a``)."""
    if param.choices:
        options = [spec] if isinstance(spec, str) else spec
        if not isinstance(options, list) or not options or any(option not in param.choices for option in options):
            raise DasrError(f"{where}: expected one of {', '.join(param.choices)} or a list of them, got {spec!r}")
        return list(options)
    bounds = spec if isinstance(spec, list) else [spec, spec]
    if len(bounds) != 2 or not all(_is_number(value) for value in bounds):
        raise DasrError(f"{where}: expected a number or a [low, high] pair, got {spec!r}")
    low, high = (int(value) if param.integer else float(value) for value in bounds)
    if param.integer and any(float(value) != int(value) for value in bounds):
        raise DasrError(f"{where}: expected whole numbers, got {spec!r}")
    if not param.low <= low <= high <= param.high:
        raise DasrError(f"{where}: range {spec!r} must satisfy {param.low:g} <= low <= high <= {param.high:g}")
    return [low, high] if isinstance(spec, list) else low


def draw(param: Param, spec: Any, rng: np.random.Generator) -> Any:
    """One value of a checked range, as a plain Python value (so it can be written to JSON)."""
    if param.choices:
        return spec[int(rng.integers(len(spec)))]
    if not isinstance(spec, list):
        return spec
    low, high = spec
    if param.integer:
        return int(rng.integers(low, high + 1))
    return float(rng.uniform(low, high))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
