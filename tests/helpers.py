"""Measuring receptive fields from gradients, shared by the operator and network tests."""

from __future__ import annotations

from dasr.ops.receptive_field import Geometry


def receptive_window(fn, x, index):
    """Back-propagate output pixel ``index`` (row, col) of channel 0 of sample 0 to ``x`` and
    return ``(first, size)`` of the input rows and of the input columns with a non-zero gradient."""
    x = x.detach().clone().requires_grad_(True)
    fn(x)[(0, 0) + tuple(index)].backward()
    seen = x.grad[0].abs().sum(0) != 0
    windows = []
    for positions in (seen.any(1).nonzero().flatten(), seen.any(0).nonzero().flatten()):
        first, last = positions.min().item(), positions.max().item()
        assert positions.numel() == last - first + 1, "the window has holes"
        windows.append((first, last - first + 1))
    return tuple(windows)


def expected_window(geometry: Geometry, index):
    return tuple((i * geometry.stride - geometry.padding, geometry.size) for i in index)
