"""Pictures embedded in the report as data URIs, so the HTML file is the whole report.

Images are reduced before embedding (a DIV2K validation sample is 6120 x 1404 pixels): photos
are capped in size and stored as JPEG (4:4:4, high quality, so compression does not invent the
artifacts a reader is looking for) unless lossless PNG is smaller, which it is for small or flat
images; graphics with text and flat colours (heatmaps) stay PNG.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Literal

from PIL import Image

from dasr.errors import DasrError

JPEG_QUALITY = 92
SMALL = 256
"""Images smaller than this (tiny training patches) are shown enlarged, pixel by pixel."""


def load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as error:
        raise DasrError(f"image '{path}' cannot be read: {error}") from None


def split_panels(image: Image.Image, count: int) -> list[Image.Image]:
    """The ``count`` equal-width images that ``save_side_by_side`` put next to each other."""
    width = image.width // count
    return [image.crop((index * width, 0, (index + 1) * width, image.height)) for index in range(count)]


def fit_within(image: Image.Image, cap: int) -> Image.Image:
    """``image`` reduced (never enlarged) so that neither side exceeds ``cap``."""
    if max(image.size) <= cap:
        return image
    reduced = image.copy()
    reduced.thumbnail((cap, cap), Image.LANCZOS)
    return reduced


def centre_crop(image: Image.Image, size: int) -> Image.Image:
    """At most ``size`` x ``size`` pixels from the middle of ``image``, at full resolution."""
    width, height = min(image.width, size), min(image.height, size)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def data_uri(image: Image.Image, kind: Literal["photo", "graphic"]) -> str:
    png = _encode(image, "PNG", optimize=True)
    if kind == "photo":
        jpeg = _encode(image, "JPEG", quality=JPEG_QUALITY, subsampling=0)
        if len(jpeg) < len(png):
            return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img_tag(image: Image.Image, alt: str, kind: Literal["photo", "graphic"] = "photo", css: str = "") -> str:
    """An ``<img>`` with its size declared (no layout jumps); small images are drawn 2x+ larger
    with crisp pixels."""
    zoom = max(1, SMALL // max(image.size))
    classes = " ".join(filter(None, [css, "pixels" if zoom > 1 else ""]))
    return (
        f'<img src="{data_uri(image, kind)}" alt="{html.escape(alt)}" width="{image.width * zoom}" '
        f'height="{image.height * zoom}"' + (f' class="{classes}"' if classes else "") + ">"
    )


def _encode(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()
