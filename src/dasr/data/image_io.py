"""Reading and writing images for every command: all accepted formats, 8 and 16 bit, alpha, EXIF.

Pillow decodes everything except 16-bit colour PNG/TIFF, which it silently reduces to 8 bit;
those files go to OpenCV so that 16-bit data stays exact. Pixels leave this module as float32
``(H, W, C)`` in [0, 1] with C in {1, 3}: grey stays one channel (the caller decides whether to
repeat it) and alpha is kept aside, because the networks only ever see colour.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import ExifTags, ImageOps
from PIL import Image as PILImage

from dasr.errors import DasrError
from dasr.files.atomic import atomic_write

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp",
    ".gif", ".apng", ".jfif", ".jpe", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".qoi", ".jp2", ".j2k", ".ico",
)
"""File name endings (compared in lower case) that are read as images: the formats photos come in
that Pillow decodes without plug-ins. Animated files (GIF, APNG, WebP) give their first frame."""

# What Pillow raises for broken files; anything else stays a bug with its traceback.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, PILImage.DecompressionBombError)

# Pillow modes whose samples are used as they are; every other mode is converted first.
_NATIVE_MODES = {"L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I;16N"}

# Extension -> (Pillow format, keeps alpha, save options) for 8-bit output.
_WRITERS: dict[str, tuple[str, bool, dict[str, Any]]] = {
    ".png": ("PNG", True, {}),
    ".jpg": ("JPEG", False, {"quality": 95}),
    ".jpeg": ("JPEG", False, {"quality": 95}),
    ".webp": ("WEBP", True, {"quality": 95}),
    ".tif": ("TIFF", True, {}),
    ".tiff": ("TIFF", True, {}),
    ".bmp": ("BMP", False, {}),
}
_SIXTEEN_BIT_EXTENSIONS = (".png", ".tif", ".tiff")


@dataclass(frozen=True, eq=False)
class Image:
    """A decoded image; ``bit_depth`` is remembered so outputs can keep the input's precision."""

    pixels: np.ndarray
    """float32 ``(H, W, C)`` in [0, 1], C = 1 (grey) or 3 (RGB)."""
    alpha: np.ndarray | None
    """float32 ``(H, W)`` in [0, 1], or None when the file has no transparency."""
    bit_depth: int
    """8 or 16: the precision of the samples in the file."""


def read_image(path: str | Path) -> Image:
    """Decode an image file into float pixels in [0, 1], alpha kept aside."""
    values, alpha = decode_image(path)
    top = float(np.iinfo(values.dtype).max)
    return Image(
        pixels=values.astype(np.float32) / top,
        alpha=None if alpha is None else alpha.astype(np.float32) / top,
        bit_depth=8 if values.dtype == np.uint8 else 16,
    )


def decode_image(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode to the integer samples stored in the file: ``(H, W, C)`` and alpha ``(H, W)``.

    Both are uint8 or uint16. Training keeps these (a quarter of float32's memory) and converts
    only the crops it uses. The EXIF orientation is applied, as every viewer does: by Pillow
    (``ImageOps.exif_transpose``) for what Pillow decodes, by :func:`flip_transpose` for the
    16-bit PNGs that OpenCV decodes (OpenCV turns TIFFs itself).
    """
    path = Path(path)
    with _reading(path):
        data = path.read_bytes()
        if not data:
            raise _cannot_read(path, "file is empty")
        with PILImage.open(io.BytesIO(data)) as image:
            orientation = _orientation(image)  # before decoding: see _orientation
            if _pillow_loses_depth(image, data):
                # OpenCV returns 16-bit grey+alpha PNGs as BGRA; the IHDR colour type tells them apart.
                samples = _decode_with_opencv(path, data, grey=image.format == "PNG" and data[25] == 4)
                if image.format != "TIFF":
                    samples = flip_transpose(samples, *_ORIENTATIONS.get(orientation, _UPRIGHT))
            else:
                if getattr(image, "n_frames", 1) > 1:
                    warnings.warn(f"'{path}' is animated ({image.n_frames} frames): using its first frame", stacklevel=2)
                ImageOps.exif_transpose(image, in_place=True)
                samples = _pillow_samples(path, image)
    if samples.shape[2] in (2, 4):
        return samples[..., :-1], samples[..., -1]
    return samples, None


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` as displayed (EXIF orientation applied), read from the header only."""
    path = Path(path)
    with _reading(path), PILImage.open(path) as image:
        # Pillow reports a TIFF's size already turned (it turns TIFFs itself on decoding).
        width, height = (image.tag_v2[256], image.tag_v2[257]) if image.format == "TIFF" else image.size
        transposed = _ORIENTATIONS.get(_orientation(image), _UPRIGHT)[0]
        return (width, height) if transposed else (height, width)


def write_image(
    path: str | Path,
    pixels: np.ndarray,
    *,
    bit_depth: int = 8,
    alpha: np.ndarray | None = None,
) -> None:
    """Write float pixels ``(H, W, C)`` or ``(H, W)`` in [0, 1] (clipped, rounded to nearest).

    16 bit is written for .png and .tif/.tiff and 8 bit for every other format; alpha is kept
    where the format can hold it (PNG, TIFF, WebP) and dropped otherwise (JPEG, BMP); 16-bit grey
    with alpha becomes RGBA, which OpenCV can write and Pillow cannot. The file appears under its name only once complete, so an interrupted run never leaves half an image.
    """
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in _WRITERS:
        raise DasrError(f"cannot write image '{path}': unknown extension (use {', '.join(IMAGE_EXTENSIONS)})")
    pil_format, keeps_alpha, options = _WRITERS[extension]
    channels = np.atleast_3d(np.asarray(pixels, dtype=np.float32))
    if alpha is not None and keeps_alpha:
        channels = np.concatenate([channels, np.asarray(alpha, np.float32)[..., None]], axis=2)
    if bit_depth == 16 and extension in _SIXTEEN_BIT_EXTENSIONS:
        data = _encode_with_opencv(extension, _quantize(channels, np.uint16))
    else:
        samples = _quantize(channels, np.uint8)
        buffer = io.BytesIO()
        PILImage.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples).save(
            buffer, pil_format, **options
        )
        data = buffer.getvalue()
    _write_atomically(path, data)


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Repeat a grey ``(H, W, 1)`` image to ``(H, W, 3)``; RGB is returned unchanged."""
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def image_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` pixels to a float32 ``(C, H, W)`` tensor that owns its memory."""
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32))


def tensor_to_pixels(tensor: torch.Tensor) -> np.ndarray:
    """A ``(C, H, W)`` or ``(1, C, H, W)`` tensor, on any device, to float32 ``(H, W, C)``."""
    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {tensor.shape[0]}")
        tensor = tensor[0]
    return tensor.detach().to("cpu", torch.float32).permute(1, 2, 0).contiguous().numpy()


def flip_transpose(
    array: np.ndarray, transpose: bool, flip_vertical: bool, flip_horizontal: bool
) -> np.ndarray:
    """One of the 8 flips/rotations of an ``(H, W, ...)`` array (a view, not a copy).

    Transpose first, then flip: the three switches reach every EXIF orientation and every
    flip/90-degree-rotation augmentation, so both share this one definition.
    """
    if transpose:
        array = array.swapaxes(0, 1)
    if flip_vertical:
        array = array[::-1]
    if flip_horizontal:
        array = array[:, ::-1]
    return array


# EXIF orientation -> (transpose, flip vertical, flip horizontal) that displays the image upright;
# 1 and invalid values mean "already upright".
_UPRIGHT = (False, False, False)
_ORIENTATIONS = {
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}


def _orientation(image: PILImage.Image) -> int:
    # The base-class getexif reads the EXIF found in the header. PngImageFile.getexif would
    # decode all pixels first to look for an eXIf chunk after them, which needlessly makes
    # image_size as slow as a full decode; well-formed PNGs put eXIf before the pixels. Read
    # before decoding, the header's EXIF is also the one exif_transpose finds (Pillow keeps it),
    # so that decode_image and image_size agree on a PNG with an eXIf chunk after its pixels.
    return PILImage.Image.getexif(image).get(ExifTags.Base.Orientation, 1)


def _pillow_loses_depth(image: PILImage.Image, data: bytes) -> bool:
    """Whether Pillow would reduce this file's samples to 8 bit (16-bit colour or grey+alpha)."""
    if image.mode.startswith("I"):
        return False  # 16-bit grey: Pillow keeps it exactly
    if image.format == "PNG":
        return data[24] == 16  # IHDR bit depth; IHDR is always the first chunk
    if image.format == "TIFF":
        return int(np.max(image.tag_v2.get(258, 8))) > 8  # BitsPerSample
    return False


def _pillow_samples(path: Path, image: PILImage.Image) -> np.ndarray:
    if image.mode in ("I", "F"):
        raise _cannot_read(path, f"unsupported pixel format (Pillow mode '{image.mode}')")
    if image.mode not in _NATIVE_MODES:
        if image.mode == "1":
            image = image.convert("L")
        else:  # palette, CMYK, YCbCr, ...
            image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    samples = np.asarray(image)
    if samples.dtype != np.uint8:
        samples = samples.astype(np.uint16)  # I;16B and friends are big-endian views
    return samples if samples.ndim == 3 else samples[..., None]


def _decode_with_opencv(path: Path, data: bytes, *, grey: bool) -> np.ndarray:
    cv2 = _opencv()
    samples = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if samples is None:
        raise _cannot_read(path, "file is truncated or corrupt")
    if samples.ndim == 2:
        return samples[..., None]
    if grey:
        return samples[..., [0, 3]]
    return samples[..., [2, 1, 0, 3][: samples.shape[2]]]  # BGR(A) -> RGB(A)


def _encode_with_opencv(extension: str, samples: np.ndarray) -> bytes:
    cv2 = _opencv()
    channels = samples.shape[2]
    if channels == 2:  # OpenCV cannot write grey+alpha: store it as RGBA
        samples = samples[..., [0, 0, 0, 1]]
    elif channels >= 3:
        samples = samples[..., [2, 1, 0, 3][:channels]]  # RGB(A) -> BGR(A)
    ok, encoded = cv2.imencode(extension, np.ascontiguousarray(samples))
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {samples.shape} image as {extension}")
    return encoded.tobytes()


def _opencv() -> Any:
    # Imported on first use: only 16-bit colour files need it, and it is slow to import.
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # we report errors ourselves
    return cv2


def _quantize(channels: np.ndarray, dtype: type[np.unsignedinteger]) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.rint(np.clip(channels, 0.0, 1.0) * top).astype(dtype)


def _write_atomically(path: Path, data: bytes) -> None:
    # Encoding happened in memory first, so a failing encoder cannot leave a half file either.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as file:
            file.write(data)
    except OSError as error:
        raise DasrError(f"cannot write image '{path}': {error.strerror or error}") from error


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn whatever a broken, missing or foreign file makes Pillow raise into one line."""
    try:
        yield
    except PILImage.UnidentifiedImageError as error:
        raise _cannot_read(path, "not an image file (or an unsupported format)") from error
    except _DECODE_ERRORS as error:
        raise _cannot_read(path, _reason(error)) from error


def _reason(error: BaseException) -> str:
    if isinstance(error, PILImage.DecompressionBombError):
        return (
            f"its header claims more than {2 * (PILImage.MAX_IMAGE_PIXELS or 0)} pixels, Pillow's "
            "decompression-bomb limit (a damaged or malicious file)"
        )
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # missing file, folder, permissions
    message = str(error).strip()
    if "truncated" in message or isinstance(error, EOFError):
        return "file is truncated"
    return message.splitlines()[0] if message else type(error).__name__


def _cannot_read(path: Path, reason: str) -> DasrError:
    return DasrError(f"cannot read image '{path}': {reason}")
