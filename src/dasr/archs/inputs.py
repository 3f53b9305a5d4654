"""The input check every network makes first: a wrong shape fails with one message naming the
network and its rule, not deep inside a convolution with a size mismatch."""

from __future__ import annotations

from torch import Tensor


def check_image_batch(x: Tensor, network: str, channels: int, factor: int = 1, resizes: str = "") -> None:
    """That ``x`` is ``(N, channels, H, W)`` with ``H`` and ``W`` multiples of ``factor``, the
    step ``network`` takes (``resizes``, e.g. ``"downscales by"``)."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{network} expects (N, {channels}, H, W), got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height % factor or width % factor:
        raise ValueError(
            f"{network} {resizes} {factor}: the input size {height}x{width} must be divisible by {factor}"
        )
