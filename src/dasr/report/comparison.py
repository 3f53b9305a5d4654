"""The picture sections: LR | SR | HR side by side, the before/after slider, stage-1 samples.

The pictures are the samples training already wrote (``samples/val_<iter>_<stem>.png``,
``samples/iter_<iter>.png``), split back into their panels: the report never runs a network.
Runs without validation pairs (the usual unsupervised case) fall back to the latest training
sample, whose real-LR patch and its SR are what such a user most wants to see.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PIL import Image

from dasr.report.images import centre_crop, fit_within, img_tag, load_rgb, split_panels
from dasr.report.sections import note
from dasr.report.source import Stage

PANEL_CAP = 768
"""Longest side of each side-by-side panel (an overview; the slider shows detail)."""
SLIDER_CROP = 768
"""The slider shows at most this many pixels square from the image centre, at full resolution,
because reducing an SR image hides exactly the artifacts one compares."""

_VAL_SAMPLE = re.compile(r"val_(\d+)_(.+)\.png")
_TRAIN_SAMPLE = re.compile(r"iter_(\d+)\.png")


def sr_section_body(stage: Stage) -> str:
    """Validation samples of the latest validated iteration, else the latest training sample."""
    validation = latest_samples(stage.run.samples_dir, _VAL_SAMPLE)
    if validation:
        iteration, paths = validation
        parts = [note(f"Validation samples at iteration {iteration} (real LR of the validation pairs; "
                      "the SR network is the EMA generator).")]
        for index, path in enumerate(paths):
            low, sr, hr = split_panels(load_rgb(path), 3)
            stem = _VAL_SAMPLE.fullmatch(path.name).group(2)
            parts.append(side_by_side(stem, [(low, "bicubic-upscaled LR"), (sr, "SR"), (hr, "HR")]))
            if index == 0:
                parts.append(slider(low, sr, f"{stem}: bicubic-upscaled LR vs SR"))
        return "".join(parts)
    training = latest_samples(stage.run.samples_dir, _TRAIN_SAMPLE)
    if not training:
        return note("No samples yet: the SR run has not reached its first sample.")
    iteration, (path,) = training
    image = load_rgb(path)
    panels = split_panels(image, image.width // image.height)  # training patches are square
    parts = [
        note(f"No validation pairs in this run: the latest training sample (iteration {iteration}) instead."),
        side_by_side("training pair", list(zip(panels[:3], ("bicubic-upscaled LR", "SR", "HR")))),
    ]
    if len(panels) == 5:  # plus a real-LR patch (adversarial=target) and its SR
        parts.append(side_by_side("real LR patch", list(zip(panels[3:], ("bicubic-upscaled real LR", "SR")))))
        parts.append(slider(panels[3], panels[4], "real LR patch: bicubic vs SR"))
    else:
        parts.append(slider(panels[0], panels[1], "training pair: bicubic-upscaled LR vs SR"))
    return "".join(parts)


def dsn_sample_body(stage: Stage) -> str:
    """The latest stage-1 sample: the bicubic downscale of an HR patch next to the DSN's output."""
    training = latest_samples(stage.run.samples_dir, _TRAIN_SAMPLE)
    if not training:
        return note("No samples yet: the DSN run has not reached its first sample.")
    iteration, (path,) = training
    bicubic, generated = split_panels(load_rgb(path), 2)
    return (note(f"Latest stage-1 sample (iteration {iteration}): the DSN should add the degradation of your "
                 "real LR images to the clean bicubic downscale.")
            + side_by_side("HR patch", [(bicubic, "bicubic downscale"), (generated, "DSN output (generated LR)")]))


def latest_samples(folder: Path, pattern: re.Pattern[str]) -> tuple[int, list[Path]] | None:
    """The iteration of the newest samples matching ``pattern`` and their files (sorted by name)."""
    found: dict[int, list[Path]] = {}
    if folder.is_dir():
        for path in folder.iterdir():
            if match := pattern.fullmatch(path.name):
                found.setdefault(int(match.group(1)), []).append(path)
    if not found:
        return None
    latest = max(found)
    return latest, sorted(found[latest])


def side_by_side(title: str, panels: list[tuple[Image.Image, str]]) -> str:
    figures = "".join(
        f"<figure>{img_tag(fit_within(image, PANEL_CAP), f'{title}: {label}')}"
        f"<figcaption>{html.escape(label)}</figcaption></figure>"
        for image, label in panels
    )
    return f'<div class="panels"><h3>{html.escape(title)}</h3><div class="row">{figures}</div></div>'


def slider(
    before: Image.Image, after: Image.Image, title: str, labels: tuple[str, str] = ("bicubic", "SR")
) -> str:
    """Two same-size images, ``before`` shown left of a draggable split, each tagged with its
    label. The split is a native range input stretched over the picture, so mouse, touch and
    keyboard work without custom event code; the page script only moves the split to the
    input's value."""
    size = before.size
    before, after = centre_crop(before, SLIDER_CROP), centre_crop(after, SLIDER_CROP)
    where = "full image" if before.size == size else f"centre {before.width}×{before.height} crop at full resolution"
    left, right = (html.escape(label) for label in labels)
    return (
        '<figure class="compare"><div class="slider" style="--pos: 50%">'
        f"{img_tag(after, f'{title}: {labels[1]}', css='after')}"
        f"{img_tag(before, f'{title}: {labels[0]}', css='before')}"
        '<div class="handle" aria-hidden="true"></div>'
        f'<span class="tag tag-left" aria-hidden="true">{left}</span>'
        f'<span class="tag tag-right" aria-hidden="true">{right}</span>'
        f'<input type="range" min="0" max="100" step="0.5" value="50" aria-label="{html.escape(title)}: '
        f'split position, {left} on the left, {right} on the right">'
        f"</div><figcaption>{html.escape(title)} ({where}); drag, tap or use the arrow keys</figcaption></figure>"
    )
