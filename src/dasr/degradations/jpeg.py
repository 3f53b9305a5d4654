"""JPEG compression artifacts (blocking, ringing, chroma bleeding) by a real encode/decode.

Using the actual codec, in memory, reproduces the 8x8 quantisation and the chroma subsampling of
cameras and web images exactly, which no analytic model does.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

SUBSAMPLINGS = ("4:2:0", "4:2:2", "4:4:4")
"""Chroma subsampling accepted by Pillow's ``subsampling``; phones and the web mostly use 4:2:0."""


def jpeg_roundtrip(image: np.ndarray, quality: int, subsampling: str) -> np.ndarray:
    """Float32 ``(H, W, 3)`` quantised to 8 bit, JPEG-encoded at ``quality`` (1-95) and decoded."""
    if subsampling not in SUBSAMPLINGS:
        raise ValueError(f"unknown chroma subsampling '{subsampling}' (use {', '.join(SUBSAMPLINGS)})")
    samples = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(samples).save(buffer, "JPEG", quality=int(quality), subsampling=subsampling)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0
