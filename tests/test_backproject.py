"""Back-projection of patch scores equals the plain definition: mean over covering windows."""

from __future__ import annotations

import pytest
import torch

from dasr.ops.backproject import backproject_scores
from dasr.ops.receptive_field import Geometry


def reference(scores: torch.Tensor, geometry: Geometry, height: int, width: int) -> torch.Tensor:
    """Loop over windows; pixels no window reaches copy the nearest covered pixel."""
    total = torch.zeros(scores.shape[0], 1, height, width, dtype=scores.dtype)
    count = torch.zeros(height, width, dtype=scores.dtype)
    for i in range(scores.shape[-2]):
        for j in range(scores.shape[-1]):
            top, left = i * geometry.stride - geometry.padding, j * geometry.stride - geometry.padding
            rows = slice(max(0, top), max(0, min(height, top + geometry.size)))
            cols = slice(max(0, left), max(0, min(width, left + geometry.size)))
            total[..., rows, cols] += scores[..., i : i + 1, j : j + 1]
            count[rows, cols] += 1
    covered_rows = [r for r in range(height) if count[r].any()]
    covered_cols = [c for c in range(width) if count[:, c].any()]
    out = torch.empty_like(total)
    for r in range(height):
        for c in range(width):
            nr = min(covered_rows, key=lambda k: abs(k - r))
            nc = min(covered_cols, key=lambda k: abs(k - c))
            out[..., r, c] = total[..., nr, nc] / count[nr, nc]
    return out


CASES = [
    (Geometry(3, 1, 1), (9, 7), (9, 7)),
    (Geometry(4, 1, 1), (8, 10), (9, 11)),
    (Geometry(13, 1, 6), (6, 5), (6, 5)),
    (Geometry(4, 2, 1), (5, 6), (10, 12)),
    (Geometry(5, 2, 2), (5, 4), (9, 8)),
    (Geometry(2, 2, 0), (4, 3), (9, 7)),  # odd sizes: last row/column seen by no window
    (Geometry(2, 2, 0).then(Geometry(4, 2, 1)).then(Geometry(3, 1, 1)), (3, 4), (11, 13)),
    (Geometry(5, 1, 2).then(Geometry(23, 1, 11)), (7, 6), (7, 6)),
]


@pytest.mark.parametrize("geometry, score_size, image_size", CASES)
def test_matches_brute_force(geometry: Geometry, score_size: tuple[int, int], image_size: tuple[int, int]) -> None:
    scores = torch.rand(2, 1, *score_size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    result = backproject_scores(scores, geometry, image_size)
    assert result.shape == (2, 1, *image_size)
    torch.testing.assert_close(result, reference(scores, geometry, *image_size), rtol=0, atol=1e-12)


def test_constant_scores_give_constant_map() -> None:
    geometry = Geometry(2, 2, 0).then(Geometry(4, 2, 1))
    result = backproject_scores(torch.full((1, 1, 5, 6), 0.3), geometry, (21, 23))
    torch.testing.assert_close(result, torch.full_like(result, 0.3))


def test_rejects_geometry_with_gaps() -> None:
    with pytest.raises(ValueError):
        backproject_scores(torch.zeros(1, 1, 3, 3), Geometry(1, 2, 0), (6, 6))
