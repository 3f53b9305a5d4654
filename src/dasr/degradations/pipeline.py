"""A degradation pipeline: an ordered list of steps with parameter ranges, drawn per image.

A pipeline is given as a list of step mappings: a built-in preset's
(:mod:`dasr.degradations.presets`) or a YAML file's.

Every image gets its own generator seeded by ``(seed, image index)``, and both the drawn
parameters and the noise come from it, so an image's LR does not depend on which other images
are processed, in which order or in how many processes: rerunning a seed gives identical bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dasr.degradations.presets import PRESETS
from dasr.degradations.ranges import check_range, draw
from dasr.degradations.resize import crop_to_multiple
from dasr.degradations.steps import STEP_TYPES
from dasr.errors import DasrError


@dataclass(frozen=True)
class Step:
    """One configured step: its type name and a checked range per parameter."""

    type: str
    ranges: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The step as a configuration file writes it (recorded in ``degradations.json``)."""
        return {"type": self.type, **self.ranges}


def parse_steps(raw: Any, source: str) -> tuple[Step, ...]:
    """Check a list of ``{"type": ..., parameter: range, ...}`` mappings (missing parameters take
    their defaults); every mistake is a one-line DasrError naming ``source`` and the step."""
    if not isinstance(raw, list) or not raw:
        raise DasrError(f"{source}: 'steps' must be a non-empty list of steps")
    steps = tuple(_parse_step(entry, f"{source}: step {number}") for number, entry in enumerate(raw, 1))
    downscales = sum(step.type == "downscale" for step in steps)
    if downscales != 1:
        raise DasrError(f"{source}: a pipeline needs exactly one 'downscale' step, found {downscales}")
    return steps


def _parse_step(entry: Any, where: str) -> Step:
    if not isinstance(entry, dict) or "type" not in entry:
        raise DasrError(f"{where}: expected a mapping with a 'type' key, got {entry!r}")
    name = entry["type"]
    if name not in STEP_TYPES:
        raise DasrError(f"{where}: unknown step type {name!r} (valid: {', '.join(STEP_TYPES)})")
    params = STEP_TYPES[name].params
    unknown = sorted(set(entry) - set(params) - {"type"})
    if unknown:
        raise DasrError(f"{where} ({name}): unknown parameter '{unknown[0]}' (valid: {', '.join(params)})")
    ranges = {key: check_range(param, entry.get(key, param.default), f"{where} ({name}): {key}") for key, param in params.items()}
    return Step(type=name, ranges=ranges)


def preset_steps(name: str) -> tuple[Step, ...]:
    """The steps of a built-in preset; an unknown name lists the valid ones."""
    if name not in PRESETS:
        raise DasrError(f"--preset: unknown preset '{name}' (valid: {', '.join(PRESETS)})")
    return parse_steps(PRESETS[name], f"preset '{name}'")


def config_steps(path: Path) -> tuple[Step, ...]:
    """The steps of a YAML file holding ``steps: [{type: ..., ...}, ...]``."""
    source = f"--config '{path}'"
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DasrError(f"{source}: cannot read: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise DasrError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from error
    if not isinstance(content, dict) or set(content) != {"steps"}:
        raise DasrError(f"{source}: expected a mapping with one key, 'steps'")
    return parse_steps(content["steps"], source)


def image_generator(seed: int, index: int) -> np.random.Generator:
    """The generator of image ``index``: independent streams for every (seed, index) pair."""
    return np.random.default_rng([seed, index])


def sample_parameters(steps: tuple[Step, ...], rng: np.random.Generator) -> list[dict[str, Any]]:
    """One draw of every step's parameters: ``[{"type": ..., parameter: value, ...}, ...]``."""
    return [
        {"type": step.type, **{key: draw(STEP_TYPES[step.type].params[key], spec, rng) for key, spec in step.ranges.items()}}
        for step in steps
    ]


def apply_steps(image: np.ndarray, drawn: list[dict[str, Any]], rng: np.random.Generator, scale: int) -> np.ndarray:
    """Run the drawn steps in order on float32 ``(H, W, 3)``; H, W must be multiples of ``scale``."""
    for params in drawn:
        image = STEP_TYPES[params["type"]].apply(image, params, rng, scale)
    return image


def degrade(
    hr: np.ndarray, steps: tuple[Step, ...], scale: int, seed: int, index: int
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """``(LR, HR cropped to a multiple of scale, drawn parameters)`` for image ``index``."""
    cropped = crop_to_multiple(hr, scale)
    if cropped.size == 0:
        raise ValueError(f"image of size {hr.shape[0]}x{hr.shape[1]} is smaller than the scale {scale}")
    rng = image_generator(seed, index)
    drawn = sample_parameters(steps, rng)
    return apply_steps(cropped.astype(np.float32), drawn, rng, scale), cropped, drawn
