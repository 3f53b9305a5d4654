"""Exact tiled application of local operators, so memory depends on the tile, not the image.

A network in eval mode is a local operator: each output pixel depends only on a bounded input
window. Giving every tile that much ``context`` on each side (clipped at the image border, where
the tile then sees the same padding as the whole image) and keeping only the tile's own part of
the output reproduces the whole-image result exactly, with no seams.

Operators that change resolution or use strides only see the same pixel grid in a tile as in the
whole image when the tile's input crop starts at a multiple of their ``alignment`` (the total
stride, or the down-scaling factor); tile sizes and contexts are rounded up to that multiple.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import torch


@dataclass(frozen=True)
class _Span:
    """One tile along one axis: its own pixels ``[start, end)`` and its input crop."""

    start: int
    end: int
    crop_start: int
    crop_end: int
    last: bool

    def crop(self) -> slice:
        return slice(self.crop_start, self.crop_end)

    def valid(self, scale: Fraction) -> slice:
        """The tile's own part of the operator's output on the crop (to the end for the last tile,
        whose output length the operator alone decides, e.g. floor or ceil of an odd size)."""
        stop = None if self.last else int((self.end - self.crop_start) * scale)
        return slice(int((self.start - self.crop_start) * scale), stop)


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``value``: tiles and their
    context stay aligned to a network's stride."""
    return -(-value // multiple) * multiple


def _spans(length: int, tile: int, context: int) -> list[_Span]:
    return [
        _Span(
            start=start,
            end=min(start + tile, length),
            crop_start=max(0, start - context),
            crop_end=min(length, start + tile + context),
            last=start + tile >= length,
        )
        for start in range(0, length, tile)
    ]


def apply_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    tile: int,
    context: int,
    alignment: int = 1,
    scale_out: Fraction | tuple[int, int] | int = 1,
) -> torch.Tensor:
    """``fn(x)`` for an ``(N, C, H, W)`` batch, computed tile by tile and stitched.

    ``fn`` must be local with output pixel ``j`` at input coordinate ``j / scale_out`` and depend
    on at most ``context`` input pixels beyond a tile on each side; then the result equals
    ``fn(x)``. Only one tile (plus context) goes through ``fn`` at a time. ``tile`` and
    ``context`` are in input pixels and rounded up to multiples of ``alignment``, which must make
    ``alignment * scale_out`` a whole number of output pixels.
    """
    scale = Fraction(*scale_out) if isinstance(scale_out, tuple) else Fraction(scale_out)
    if tile < 1 or context < 0 or alignment < 1 or scale <= 0 or min(x.shape[-2:]) < 1:
        raise ValueError(
            f"invalid tiling of {tuple(x.shape)}: tile={tile}, context={context}, "
            f"alignment={alignment}, scale_out={scale}"
        )
    if (alignment * scale).denominator != 1:
        raise ValueError(f"alignment {alignment} times scale_out {scale} is not a whole number of output pixels")
    tile = round_up(tile, alignment)
    context = round_up(context, alignment)
    rows = _spans(x.shape[-2], tile, context)
    cols = _spans(x.shape[-1], tile, context)
    # The bottom-right tile goes first: its output fixes the total output size, so the result can
    # be allocated once instead of concatenating pieces.
    order = [(rows[-1], cols[-1])] + [(row, col) for row in rows for col in cols][:-1]
    out: torch.Tensor | None = None
    for row, col in order:
        piece = fn(x[..., row.crop(), col.crop()])[..., row.valid(scale), col.valid(scale)]
        top, left = int(row.start * scale), int(col.start * scale)
        if out is None:
            out = piece.new_empty((*piece.shape[:-2], top + piece.shape[-2], left + piece.shape[-1]))
        expected = (
            out.shape[-2] - top if row.last else int((row.end - row.start) * scale),
            out.shape[-1] - left if col.last else int((col.end - col.start) * scale),
        )
        if tuple(piece.shape[-2:]) != expected:
            raise ValueError(
                f"a tile's output {tuple(piece.shape[-2:])} does not follow scale_out={scale}: expected {expected}"
            )
        out[..., top : top + piece.shape[-2], left : left + piece.shape[-1]] = piece
    assert out is not None
    return out
