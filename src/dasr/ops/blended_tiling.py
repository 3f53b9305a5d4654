"""Super-resolving an image of any size tile by tile: bounded device memory, no seams.

This is how every SR image the package scores is made: ``dasr sr``/``dasr eval --model``
(through :mod:`dasr.inference.api`) and stage-2 validation, so that the checkpoint validation
picks is scored by ``dasr eval`` with the same numbers. It lives in ``ops`` so that both can use it.

Users of the released code and its peers report two problems with tiled inference: the whole
image still goes to the GPU, and tiles leave visible seams. Here the image and the output stay in
CPU memory and only one tile at a time goes to the device, and tiles overlap and are blended:

- The image is first reflect-padded by ``overlap`` pixels (then aligned to the network's
  :meth:`~dasr.archs.rrdbnet.RRDBNet.tile_alignment`), so pixels at the image border see image-like
  context, as interior pixels do, instead of the convolutions' zero padding; the padding is cropped
  off the output.
- Neighbouring tiles overlap by at least ``overlap`` input pixels. Along each side that has a
  neighbour, a tile's weight is 0 over the first quarter of ``overlap`` (where the tile lacks context
  and its output differs from the whole-image output), rises as a raised cosine over the middle half
  and is 1 beyond. The weights are separable and normalised to sum to 1 at every pixel, so the
  blend is smooth and a flat image stays flat.
- For a network whose :meth:`~dasr.archs.rrdbnet.RRDBNet.context` is at most ``overlap / 4`` only
  exact pixels get weight, and the result equals the single-tile result up to float rounding. The
  full RRDBNet's theoretical context (349 pixels) is far larger than any sensible overlap, but its
  effective receptive field is small: the measured difference is in ``tests/test_inference_tiled.py``.

The tile size, when not given, comes from a memory budget: a fixed one on the CPU, half the free
memory on CUDA. On out-of-memory the image is started again with half the tile size, down to
``2 * overlap``, below which the error says what to do instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal, Protocol

import torch
from torch import Tensor

from dasr.errors import DasrError
from dasr.ops.resize import mirror_indices
from dasr.ops.tiling import round_up

DEFAULT_OVERLAP = 16
"""Pixels shared by neighbouring tiles (4 without weight, 8 of ramp, 4 at full weight), counted
at the network trunk's resolution: input pixels times the input unshuffle factor."""

CPU_BUDGET_BYTES = 512 << 20
"""Activation memory one CPU tile may use. Small, because CPU speed hardly depends on the tile size
(measured with tiles of 128 to 416 pixels on 2 and 16 cores: ``benchmarks/inference_speed.py``)
while the machine usually has other work in memory."""

CUDA_FREE_FRACTION = 0.5
"""Share of the free GPU memory one tile may use; the rest covers cuDNN workspaces and the
allocator's fragmentation."""

MAX_TENSOR_ELEMENTS = 2**31 - 1
"""cuDNN convolutions index with 32 bits: no activation of a tile may exceed this many elements."""

TILE_MULTIPLE = 8
"""Automatic tile sizes are multiples of 8 (convolution kernels are fastest on such sizes)."""


Border = Literal["reflect", "zero"]
BORDERS: tuple[Border, ...] = ("reflect", "zero")
"""How the image border is padded: reflected (no dark frame, the default) or not at all, so the
convolutions zero-pad it as a plain forward does (BasicSR/Real-ESRGAN parity)."""


class SRNetwork(Protocol):
    """What tiling needs of a network: :class:`~dasr.archs.rrdbnet.RRDBNet` provides it."""

    scale: int

    def __call__(self, x: Tensor) -> Tensor: ...

    def tile_alignment(self) -> int: ...

    def hyperparameters(self) -> dict[str, int]: ...


def upscale_tiled(
    network: SRNetwork,
    lr: Tensor,
    *,
    scale: int,
    tile: int | None = None,
    overlap: int | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    border: Border = "reflect",
) -> Tensor:
    """``network(lr)`` for a ``(1, C, h, w)`` CPU tensor, as a ``(1, C_out, h*scale, w*scale)``
    float32 CPU tensor, computed one tile at a time on ``device`` (where ``network`` already is,
    in eval mode).

    ``tile`` and ``overlap`` are in input pixels; ``tile=None`` picks the largest tile the memory
    budget allows, so that an image that fits is done in one go; ``overlap=None`` means
    :data:`DEFAULT_OVERLAP` trunk pixels. ``dtype`` is the autocast compute
    type: ``float32`` (no autocast), ``float16`` (CUDA only) or ``bfloat16``. ``border="zero"``
    leaves the image unpadded, so its border pixels see the convolutions' zero padding, as in a
    plain whole-image forward (BasicSR, Real-ESRGAN): the same output where one tile covers the
    image, a darker frame than ``reflect`` near the border.
    """
    device = torch.device(device)
    _check_request(lr, device, dtype, border)
    alignment = network.tile_alignment()
    if overlap is None:
        overlap = DEFAULT_OVERLAP * alignment
    elif overlap < 0:
        raise DasrError(f"tile overlap must be 0 or more pixels, got {overlap}")
    overlap = round_up(overlap, alignment)
    floor = max(2 * overlap, alignment)
    border_pad = overlap if border == "reflect" else 0
    padded = _reflect_pad(lr, border_pad, alignment)
    largest = max(padded.shape[-2:])
    if tile is None:
        tile = auto_tile(network, device, dtype)
    elif tile < floor:
        raise DasrError(f"tile size {tile} is too small: tiles must be at least twice the overlap ({floor} pixels)")
    tile = max(floor, min(round_up(tile, alignment), largest, _max_tile(network)))
    while True:
        try:
            return _upscale(network, padded, lr.shape[-2:], scale=scale, tile=tile, overlap=overlap,
                            border_pad=border_pad, device=device, dtype=dtype)
        except torch.OutOfMemoryError:
            pass  # leave the except block first: its traceback holds the failed tile's tensors
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if tile <= floor:
            raise DasrError(
                f"out of memory on {device} even with tiles of {tile} pixels; "
                "free memory or use another device (--device)"
            )
        smaller = max(floor, round_up(tile // 2, alignment))
        warnings.warn(f"out of memory on {device} with tiles of {tile} pixels; retrying with {smaller}", stacklevel=2)
        tile = smaller


def _check_request(lr: Tensor, device: torch.device, dtype: torch.dtype, border: str) -> None:
    """Refuse, before any work, what tiling does not do: a batch or a device tensor (the image
    stays in CPU memory), float16 on the CPU (slow and inaccurate), an unknown border."""
    if border not in BORDERS:
        raise DasrError(f"border padding must be one of {', '.join(BORDERS)}, got '{border}'")
    if lr.ndim != 4 or lr.shape[0] != 1 or lr.device.type != "cpu":
        raise ValueError(f"expected one CPU image (1, C, h, w), got {tuple(lr.shape)} on {lr.device}")
    if dtype == torch.float16 and device.type == "cpu":
        raise ValueError("float16 on the CPU is slow and inaccurate; use float32 or bfloat16")


def auto_tile(network: SRNetwork, device: torch.device, dtype: torch.dtype = torch.float32) -> int:
    """The largest square tile (input pixels, a multiple of 8) whose activations fit the budget.

    Peak memory is estimated from the network's layout: at the output resolution three
    ``num_features`` maps are alive at once (upsampled input, convolution output, activation), in
    a dense block about twice its concatenated input plus the trunk's residual inputs.
    """
    peak = _elements_per_pixel(network)[1]
    element_bytes = torch.finfo(dtype).bits // 8
    if device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] * CUDA_FREE_FRACTION
    else:
        budget = CPU_BUDGET_BYTES
    tile = min(math.sqrt(budget / (peak * element_bytes)), _max_tile(network))
    multiple = math.lcm(TILE_MULTIPLE, network.tile_alignment())
    return max(multiple, int(tile) // multiple * multiple)


def _max_tile(network: SRNetwork) -> int:
    """The largest tile whose largest activation cuDNN can still index (see
    :data:`MAX_TENSOR_ELEMENTS`): a bigger ``--tile`` would fail rather than run out of memory."""
    alignment = network.tile_alignment()
    return math.isqrt(MAX_TENSOR_ELEMENTS // _elements_per_pixel(network)[0]) // alignment * alignment


def _elements_per_pixel(network: SRNetwork) -> tuple[int, int]:
    """Per input pixel: the elements of the largest single activation, and of the activations
    alive together at the peak."""
    settings = network.hyperparameters()
    features, growth = settings["num_features"], settings["growth_channels"]
    output = features * network.scale**2
    dense = features + 4 * growth
    return max(output, dense), max(3 * output, 2 * dense + 3 * features)


def _upscale(
    network: SRNetwork,
    padded: Tensor,
    size: Sequence[int],
    *,
    scale: int,
    tile: int,
    overlap: int,
    border_pad: int,
    device: torch.device,
    dtype: torch.dtype,
) -> Tensor:
    """One pass over the tiles of ``padded`` (the image reflect-padded by ``border_pad``), each
    weighted output tile added into the cropped CPU result."""
    height, width = size
    alignment = network.tile_alignment()
    rows = tile_spans(padded.shape[-2], tile, overlap, alignment)
    cols = tile_spans(padded.shape[-1], tile, overlap, alignment)
    row_weights = _blend_weights(rows, padded.shape[-2], scale, overlap)
    col_weights = _blend_weights(cols, padded.shape[-1], scale, overlap)
    crop_rows = (border_pad * scale, (border_pad + height) * scale)
    crop_cols = (border_pad * scale, (border_pad + width) * scale)
    out: Tensor | None = None
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)
    with torch.inference_mode():
        for (top, bottom), row_weight in zip(rows, row_weights):
            for (left, right), col_weight in zip(cols, col_weights):
                piece = padded[..., top:bottom, left:right].to(device)
                with autocast:
                    result = network(piece)
                expected = ((bottom - top) * scale, (right - left) * scale)
                if tuple(result.shape[-2:]) != expected:
                    shapes = f"{tuple(piece.shape[-2:])} tile gave {tuple(result.shape[-2:])}"
                    raise ValueError(f"a {shapes}, not {expected}")
                weight = row_weight.to(device)[:, None] * col_weight.to(device)[None, :]
                result = (result.float() * weight).cpu()
                if out is None:
                    out = torch.zeros((1, result.shape[1], height * scale, width * scale))
                source_rows, target_rows = _overlap_slices((top * scale, bottom * scale), crop_rows)
                source_cols, target_cols = _overlap_slices((left * scale, right * scale), crop_cols)
                out[..., target_rows, target_cols] += result[..., source_rows, source_cols]
    assert out is not None
    return out


def tile_spans(length: int, tile: int, overlap: int, alignment: int) -> list[tuple[int, int]]:
    """Tiles ``[start, stop)`` along one axis, each overlapping the next by at least ``overlap``:
    as few as tiles of at most ``tile`` allow, then shrunk to the equal length that just covers
    ``length`` (so an image a little larger than one tile is not done twice over) and spread
    evenly. ``length``, ``tile`` and ``overlap`` are multiples of ``alignment``; starts are rounded
    down to one, which keeps every gap within ``tile - overlap``."""
    if length <= tile:
        return [(0, length)]
    count = -(-(length - overlap) // (tile - overlap))
    tile = round_up(-(-(length + (count - 1) * overlap) // count), alignment)
    cells = (length - tile) // alignment
    starts = [k * cells // (count - 1) * alignment for k in range(count)]
    return [(start, start + tile) for start in starts]


def _blend_weights(spans: list[tuple[int, int]], length: int, scale: int, overlap: int) -> list[Tensor]:
    """Per tile, the weight of each of its output rows (or columns): ramps on sides with a
    neighbour, normalised so that the weights of all tiles sum to 1 at every output position."""
    width = overlap * scale
    weights = []
    total = torch.zeros(length * scale, dtype=torch.float64)
    for index, (start, stop) in enumerate(spans):
        centres = torch.arange((stop - start) * scale, dtype=torch.float64) + 0.5
        weight = torch.ones_like(centres)
        if index > 0:
            weight *= _rise(centres, width)
        if index < len(spans) - 1:
            weight *= _rise((stop - start) * scale - centres, width)
        weights.append(weight)
        total[start * scale : stop * scale] += weight
    return [(weight / total[start * scale : stop * scale]).float() for (start, stop), weight in zip(spans, weights)]


def _rise(distance: Tensor, width: int) -> Tensor:
    """0 for the first quarter of ``width`` from a tile edge, a raised cosine over the middle
    half, 1 beyond; with no overlap, 1 everywhere."""
    if width == 0:
        return torch.ones_like(distance)
    position = ((distance - width / 4) / (width / 2)).clamp(0, 1)
    return 0.5 - 0.5 * torch.cos(math.pi * position)


def _overlap_slices(tile: tuple[int, int], crop: tuple[int, int]) -> tuple[slice, slice]:
    """Where a tile's output ``[start, stop)`` meets the crop, in tile and in crop coordinates."""
    first, last = max(tile[0], crop[0]), min(tile[1], crop[1])
    last = max(first, last)
    return slice(first - tile[0], last - tile[0]), slice(first - crop[0], last - crop[0])


def _reflect_pad(image: Tensor, pad: int, alignment: int) -> Tensor:
    """``image`` reflect-padded by ``pad`` on every side, plus at the bottom/right up to a multiple
    of ``alignment``. Index-based, unlike ``F.pad``, so that any padding works on any size (it
    reflects back and forth; a single row or column is repeated)."""
    height, width = image.shape[-2:]
    rows = mirror_indices(height, pad, pad + (-(height + 2 * pad)) % alignment, repeat_edge=False)
    cols = mirror_indices(width, pad, pad + (-(width + 2 * pad)) % alignment, repeat_edge=False)
    return image.index_select(-2, rows).index_select(-1, cols)
