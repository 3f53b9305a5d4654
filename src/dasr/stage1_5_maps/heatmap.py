"""A picture of a domain-distance map that people can read without other tools.

Viridis (perceptually uniform, readable in grey and by colour-blind viewers) from a small table
of anchors, so there is no plotting dependency; a legend strip with the scale and its meaning
is drawn under the map, and small maps are enlarged (nearest neighbour, so map pixels stay
visible as blocks) until the legend fits.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# matplotlib's viridis sampled at 0, 0.1, ..., 1 (8-bit sRGB); linear interpolation in between.
_VIRIDIS = np.array([
    (68, 1, 84), (72, 36, 117), (65, 68, 135), (53, 95, 141), (42, 120, 142), (33, 145, 140),
    (34, 168, 132), (68, 191, 112), (122, 209, 81), (189, 223, 38), (253, 231, 37),
], dtype=np.float32)
_ANCHORS = np.linspace(0.0, 1.0, len(_VIRIDIS))

CAPTION = "P(real LR domain)"
MIN_WIDTH = 192
_BAR_HEIGHT = 12
_GAP = 4
_TICKS = (0.0, 0.5, 1.0)


def colorize(values: np.ndarray) -> np.ndarray:
    """uint8 ``(..., 3)`` viridis colours for values in [0, 1] (clipped)."""
    values = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    channels = [np.interp(values, _ANCHORS, _VIRIDIS[:, c]) for c in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def _text_size(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return math.ceil(right - left), math.ceil(bottom - top)


def heatmap_image(values: np.ndarray) -> Image.Image:
    """An RGB picture of an ``(h, w)`` map in [0, 1] with a colour bar, ticks and caption below."""
    if values.ndim != 2:
        raise ValueError(f"expected an (h, w) map, got shape {values.shape}")
    font = ImageFont.load_default()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [f"{tick:.1f}" for tick in _TICKS]
    caption = f"{CAPTION}, mean {float(np.mean(values)):.2f}"
    label_size = max(_text_size(measure, label, font) for label in labels)
    caption_size = _text_size(measure, caption, font)
    margin = label_size[0] // 2 + 2 * _GAP

    factor = math.ceil(max(MIN_WIDTH, caption_size[0] + 2 * margin) / values.shape[1])
    picture = Image.fromarray(colorize(values)).resize(
        (values.shape[1] * factor, values.shape[0] * factor), Image.Resampling.NEAREST
    )
    width = picture.width
    legend_height = _BAR_HEIGHT + label_size[1] + caption_size[1] + 6 * _GAP
    canvas = Image.new("RGB", (width, picture.height + legend_height), "white")
    canvas.paste(picture, (0, 0))

    bar_top = picture.height + _GAP
    bar_width = width - 2 * margin
    bar = colorize(np.linspace(0.0, 1.0, bar_width))[None].repeat(_BAR_HEIGHT, axis=0)
    canvas.paste(Image.fromarray(bar), (margin, bar_top))
    draw = ImageDraw.Draw(canvas)
    tick_top = bar_top + _BAR_HEIGHT
    for tick, label in zip(_TICKS, labels):
        x = margin + round(tick * (bar_width - 1))
        draw.line([(x, tick_top), (x, tick_top + _GAP)], fill="black")
        text_width, _ = _text_size(draw, label, font)
        draw.text((x - text_width // 2, tick_top + 2 * _GAP), label, fill="black", font=font)
    caption_top = tick_top + label_size[1] + 4 * _GAP
    draw.text(((width - caption_size[0]) // 2, caption_top), caption, fill="black", font=font)
    return canvas
