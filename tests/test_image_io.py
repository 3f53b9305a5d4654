"""Image reading and writing: exact round trips, alpha, EXIF, broken files, atomic writes."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from PIL import ImageOps

from dasr.data.folders import list_images
from dasr.data.image_io import (
    IMAGE_EXTENSIONS,
    decode_image,
    image_size,
    image_to_tensor,
    read_image,
    tensor_to_pixels,
    to_rgb,
    write_image,
)
from dasr.errors import DasrError


def _levels(shape: tuple[int, ...], bit_depth: int, seed: int = 0) -> np.ndarray:
    """Random pixels exactly on the grid of the bit depth, so a round trip must be exact."""
    top = 2**bit_depth - 1
    return (np.random.default_rng(seed).integers(0, top + 1, shape) / top).astype(np.float32)


def _png16(samples: np.ndarray) -> bytes:
    """A minimal 16-bit PNG encoder, independent of Pillow and OpenCV, as a reading oracle."""
    height, width, channels = samples.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\0" + samples[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_png_round_trip_is_exact(tmp_path: Path, bit_depth: int, channels: int) -> None:
    pixels = _levels((5, 7, channels), bit_depth)
    write_image(tmp_path / "x.png", pixels, bit_depth=bit_depth)
    image = read_image(tmp_path / "x.png")
    assert image.bit_depth == bit_depth
    assert image.pixels.dtype == np.float32
    assert image.pixels.shape == (5, 7, channels)
    assert image.alpha is None
    np.testing.assert_array_equal(image.pixels, pixels)


@pytest.mark.parametrize(("bit_depth", "channels"), [(8, 1), (8, 3), (16, 3)])
def test_alpha_is_kept_aside_and_round_trips(tmp_path: Path, bit_depth: int, channels: int) -> None:
    pixels = _levels((4, 6, channels), bit_depth, seed=1)
    alpha = _levels((4, 6), bit_depth, seed=2)
    write_image(tmp_path / "x.png", pixels, bit_depth=bit_depth, alpha=alpha)
    image = read_image(tmp_path / "x.png")
    assert image.pixels.shape == (4, 6, channels)
    np.testing.assert_array_equal(image.pixels, pixels)
    np.testing.assert_array_equal(image.alpha, alpha)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_read_exactly(tmp_path: Path, channels: int) -> None:
    samples = np.random.default_rng(3).integers(0, 65536, (3, 5, channels), dtype=np.uint16)
    (tmp_path / "x.png").write_bytes(_png16(samples))
    values, alpha = decode_image(tmp_path / "x.png")
    assert values.dtype == np.uint16
    has_alpha = channels in (2, 4)
    np.testing.assert_array_equal(values, samples[..., : channels - has_alpha])
    if has_alpha:
        np.testing.assert_array_equal(alpha, samples[..., -1])
    else:
        assert alpha is None
    assert read_image(tmp_path / "x.png").bit_depth == 16


def test_16_bit_colour_tiff_round_trip(tmp_path: Path) -> None:
    pixels = _levels((4, 5, 3), 16, seed=4)
    write_image(tmp_path / "x.tif", pixels, bit_depth=16)
    image = read_image(tmp_path / "x.tif")
    assert image.bit_depth == 16
    np.testing.assert_array_equal(image.pixels, pixels)


def test_palette_image_becomes_rgb_or_rgba(tmp_path: Path) -> None:
    palette = PILImage.new("P", (3, 2))
    palette.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    palette.putdata([0, 1, 0, 1, 1, 0])
    palette.save(tmp_path / "opaque.png")
    palette.save(tmp_path / "transparent.png", transparency=1)

    opaque = read_image(tmp_path / "opaque.png")
    assert opaque.pixels.shape == (2, 3, 3) and opaque.alpha is None
    np.testing.assert_array_equal(opaque.pixels[0, 1] * 255, [200, 100, 0])
    np.testing.assert_array_equal(opaque.pixels[0, 0] * 255, [10, 20, 30])

    transparent = read_image(tmp_path / "transparent.png")
    np.testing.assert_array_equal(transparent.alpha, [[1, 0, 1], [0, 0, 1]])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    samples = np.random.default_rng(5).integers(0, 256, (3, 5, 3), dtype=np.uint8)
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    PILImage.fromarray(samples).save(tmp_path / "x.png", exif=exif)

    with PILImage.open(tmp_path / "x.png") as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored))
    values, _ = decode_image(tmp_path / "x.png")
    np.testing.assert_array_equal(values, expected)
    assert image_size(tmp_path / "x.png") == expected.shape[:2]


def test_jpeg_exif_rotation_applied(tmp_path: Path) -> None:
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    PILImage.new("RGB", (8, 4), (255, 0, 0)).save(tmp_path / "x.jpg", exif=exif)
    assert read_image(tmp_path / "x.jpg").pixels.shape == (8, 4, 3)
    assert image_size(tmp_path / "x.jpg") == (8, 4)


def _displayed(samples: np.ndarray, orientation: int) -> np.ndarray:
    """``samples`` as a viewer shows them with ``orientation``: Pillow's exif_transpose of a PNG
    of pixel indices with that orientation tells where each stored pixel goes."""
    height, width = samples.shape[:2]
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    PILImage.fromarray(np.arange(height * width, dtype=np.uint8).reshape(height, width)).save(buffer, "PNG", exif=exif)
    with PILImage.open(buffer) as indices:
        return samples.reshape(height * width, -1)[np.asarray(ImageOps.exif_transpose(indices))]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_applied_once(tmp_path: Path, orientation: int) -> None:
    """Pillow turns a TIFF by its orientation tag itself and reports its size turned: applying
    the orientation again (as a hand-written EXIF step would) shows it wrong."""
    samples = np.random.default_rng(orientation).integers(0, 256, (3, 5, 3), dtype=np.uint8)
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    PILImage.fromarray(samples).save(tmp_path / "x.tif", exif=exif)
    expected = _displayed(samples, orientation)
    values, _ = decode_image(tmp_path / "x.tif")
    np.testing.assert_array_equal(values, expected)
    assert image_size(tmp_path / "x.tif") == expected.shape[:2]


@pytest.mark.parametrize(
    ("name", "lossless"),
    [("x.bmp", True), ("x.tiff", True), ("x.TIF", True), ("x.webp", False), ("x.JPG", False)],
)
def test_reads_other_formats(tmp_path: Path, name: str, lossless: bool) -> None:
    samples = np.zeros((8, 8, 3), np.uint8)
    samples[:, :4] = (200, 40, 90)
    PILImage.fromarray(samples).save(tmp_path / name)
    image = read_image(tmp_path / name)
    assert image.bit_depth == 8 and image.pixels.shape == (8, 8, 3)
    error = np.abs(image.pixels - samples.astype(np.float32) / 255)
    assert error.max() == 0 if lossless else error.mean() < 0.03


def test_grey_stays_one_channel(tmp_path: Path) -> None:
    PILImage.new("L", (4, 3), 77).save(tmp_path / "x.jpg")
    assert read_image(tmp_path / "x.jpg").pixels.shape == (3, 4, 1)


def _truncated_png(path: Path) -> None:
    write_image(path, _levels((32, 32, 3), 8))
    path.write_bytes(path.read_bytes()[:-40])


def _truncated_16_bit_png(path: Path) -> None:
    write_image(path, _levels((32, 32, 3), 16), bit_depth=16)
    path.write_bytes(path.read_bytes()[:-40])


def _truncated_jpeg(path: Path) -> None:
    PILImage.fromarray((_levels((64, 64, 3), 8) * 255).astype(np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:-200])


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("cut.png", _truncated_png, "truncated"),
        ("cut16.png", _truncated_16_bit_png, "truncated"),
        ("cut.jpg", _truncated_jpeg, "truncated"),
        ("notes.png", lambda path: path.write_text("hello"), "not an image"),
        ("empty.png", lambda path: path.write_bytes(b""), "empty"),
        ("missing.png", lambda path: None, "No such file"),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(tmp_path, name, make, reason) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(DasrError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"cannot read image '{path}': ")
    assert reason in message
    assert "\n" not in message


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "deep" / "x.png"
    write_image(target, _levels((4, 4, 3), 8, seed=6))
    before = target.read_bytes()

    def interrupted(source: str, destination: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(target, _levels((4, 4, 3), 8, seed=7))
    assert target.read_bytes() == before
    assert os.listdir(target.parent) == ["x.png"]


def test_write_failure_is_a_dasr_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DasrError, match="cannot write image '.*x.png'"):
        write_image(tmp_path / "file" / "x.png", _levels((2, 2, 3), 8))
    with pytest.raises(DasrError, match="unknown extension"):
        write_image(tmp_path / "x.gif", _levels((2, 2, 3), 8))


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_write_rounds_to_nearest_and_clips(tmp_path: Path, bit_depth: int) -> None:
    top = 2**bit_depth - 1
    pixels = np.array([[0.49 / top, 0.51 / top, 1.49 / top, 1.2, -0.3]], np.float32)
    write_image(tmp_path / "x.png", pixels, bit_depth=bit_depth)
    values, _ = decode_image(tmp_path / "x.png")
    np.testing.assert_array_equal(values[..., 0], [[0, 1, 1, top, 0]])


def test_tensor_conversions() -> None:
    pixels = _levels((3, 5, 1), 8)
    rgb = to_rgb(pixels)
    assert rgb.shape == (3, 5, 3)
    np.testing.assert_array_equal(rgb[..., 2], pixels[..., 0])
    tensor = image_to_tensor(rgb)
    assert tensor.shape == (3, 3, 5) and tensor.dtype == torch.float32
    np.testing.assert_array_equal(tensor_to_pixels(tensor), rgb)
    np.testing.assert_array_equal(tensor_to_pixels(tensor[None]), rgb)
    with pytest.raises(ValueError):
        tensor_to_pixels(torch.zeros(2, 3, 4, 4))


LOSSY_EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".jpe", ".webp")


@pytest.mark.parametrize("extension", IMAGE_EXTENSIONS)
def test_every_accepted_ending_is_listed_and_read_in_any_case(tmp_path: Path, extension: str) -> None:
    """A file of each accepted ending, in upper case as cameras name them, is listed (endings
    are compared in lower case) and decodes to its pixels with Pillow alone."""
    samples = np.zeros((8, 8, 3), np.uint8)
    samples[:, 4:] = 255
    samples[4:, :4] = (200, 40, 90)  # black, white and one colour: even 1-bit PBM and GIF keep them
    path = tmp_path / f"X{extension.upper()}"
    PILImage.fromarray(samples).save(path)  # Pillow picks the format from the ending
    assert list_images(tmp_path, "--hr") == [path]
    image = read_image(path)
    assert image.bit_depth == 8 and image.pixels.shape == (8, 8, 3)
    error = np.abs(image.pixels - samples.astype(np.float32) / 255)
    assert error.mean() < 0.04 if extension in LOSSY_EXTENSIONS else error.max() == 0
