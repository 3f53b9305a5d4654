"""The per-pixel loop of ``benchmarks/maps_speed.py`` (the released code's way of making a map)
gives our map: the benchmark's speed ratio compares two computations of the same thing."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

from dasr.ops.backproject import backproject_scores
from dasr.ops.receptive_field import Geometry

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "geometry, size",
    [
        (Geometry(size=13, stride=1, padding=6), (17, 23)),
        (Geometry(size=46, stride=2, padding=22), (31, 20)),  # the paper's discriminator on the wavelet band
        (Geometry(size=4, stride=3, padding=0), (14, 11)),  # no window reaches the last row and column
    ],
)
def test_loop_reference_equals_backprojection(monkeypatch: pytest.MonkeyPatch, geometry: Geometry, size) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    per_pixel_map = importlib.import_module("maps_speed").per_pixel_map
    rows = (size[0] + 2 * geometry.padding - geometry.size) // geometry.stride + 1
    cols = (size[1] + 2 * geometry.padding - geometry.size) // geometry.stride + 1
    scores = torch.rand(1, 1, rows, cols, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = per_pixel_map(scores[0, 0].numpy(), geometry, size)
    result = backproject_scores(scores, geometry, size)[0, 0].numpy()
    np.testing.assert_allclose(result, expected, atol=1e-6)
