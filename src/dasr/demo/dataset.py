"""The demo's data set, made from scikit-image's bundled sample photos (no download).

DASR needs clean HR photos and real LR images of *other* scenes, so the photos are split by
scene into three disjoint groups:

- ``hr``: clean photos, used as they are;
- ``real_lr``: other photos degraded by the ``phone-camera`` preset at the scale, standing in
  for a user's phone shots (their HR is never used);
- ``val_hr``/``val_lr``: held-back photos with the same degradation, aligned pairs for
  scoring (HR cropped to a multiple of the scale, as ``degrade`` returns it).

Only colour photographs that scikit-image ships inside its wheel are used (``cat`` is
``chelsea`` again, ``colorwheel`` is synthetic, the others are grey or need pooch). The real-LR
group must hold detailed scenes like the HR group: the discriminator of stage 1 cannot tell a
degradation from a scene's own smoothness, so smooth real-LR scenes (``retina``, a fundus photo)
teach the DSN to blur, and DASR then over-sharpens. ``motorcycle_left`` is the left view of
scikit-image's stereo pair (its right view is not used). Flips or
crops would add no scenes — training already draws random crops, flips and rotations — so each
photo is one image. Every value is fixed (photo groups, degradation seed), so the set is the
same on every machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dasr.data.image_io import write_image
from dasr.degradations import degrade, preset_steps
from dasr.engine.atomic import atomic_write
from dasr.errors import DasrError

HR_PHOTOS = ("astronaut", "hubble_deep_field", "immunohistochemistry")
REAL_LR_PHOTOS = ("rocket", "motorcycle_left")
VAL_PHOTOS = ("chelsea", "coffee")
DEGRADATION = "phone-camera"
SEED = 0
MANIFEST_NAME = "manifest.json"
"""Written last: its presence (with the same settings) means the data set is complete."""


@dataclass(frozen=True)
class DemoData:
    """The files of a built demo data set."""

    hr_paths: list[Path]
    real_lr_paths: list[Path]
    val_pairs: list[tuple[Path, Path]]
    """(HR, LR) of the same scene."""


def _load_photo(name: str) -> Callable[[], np.ndarray]:
    """scikit-image's loader for a sample photo; a missing scikit-image is a one-line error."""
    try:
        from skimage import data as samples
    except ImportError as error:
        raise DasrError("the demo's photos come from scikit-image: pip install 'scikit-image>=0.21'") from error
    if name == "motorcycle_left":
        return lambda: samples.stereo_motorcycle()[0]
    return getattr(samples, name)


def _photo(name: str, max_size: int | None) -> np.ndarray:
    """Photo ``name`` as float32 RGB in [0, 1], centre-cropped to at most ``max_size`` per side
    (small crops keep tests fast)."""
    pixels = _load_photo(name)()[..., :3]
    if max_size is not None:
        top, left = ((size - min(size, max_size)) // 2 for size in pixels.shape[:2])
        pixels = pixels[top : top + max_size, left : left + max_size]
    return pixels.astype(np.float32) / 255.0


def build_demo_data(out: Path, scale: int, *, max_size: int | None = None) -> DemoData:
    """Write ``out/{hr,real_lr,val_hr,val_lr}/<photo>.png`` (skipped when ``out`` already
    holds the set for the same settings) and return their paths."""
    out = Path(out)
    settings = {"scale": scale, "max_size": max_size, "degradation": DEGRADATION, "seed": SEED}
    manifest = out / MANIFEST_NAME
    if not manifest.is_file() or json.loads(manifest.read_text())["settings"] != settings:
        _write(out, scale, max_size)
        with atomic_write(manifest, "w") as handle:
            json.dump({"settings": settings, "source": "skimage.data"}, handle, indent=2)
    return _paths(out)


def _paths(out: Path) -> DemoData:
    def group(folder: str, names: tuple[str, ...]) -> list[Path]:
        return [out / folder / f"{name}.png" for name in names]

    return DemoData(
        hr_paths=group("hr", HR_PHOTOS),
        real_lr_paths=group("real_lr", REAL_LR_PHOTOS),
        val_pairs=list(zip(group("val_hr", VAL_PHOTOS), group("val_lr", VAL_PHOTOS), strict=True)),
    )


def _write(out: Path, scale: int, max_size: int | None) -> None:
    steps = preset_steps(DEGRADATION)
    for name in HR_PHOTOS:
        write_image(out / "hr" / f"{name}.png", _photo(name, max_size))
    # One index per degraded photo, so no two photos share the random draws of their degradation.
    for index, name in enumerate((*REAL_LR_PHOTOS, *VAL_PHOTOS)):
        lr, hr, _ = degrade(_photo(name, max_size), steps, scale, SEED, index)
        if name in VAL_PHOTOS:
            write_image(out / "val_hr" / f"{name}.png", hr)
            write_image(out / "val_lr" / f"{name}.png", lr)
        else:
            write_image(out / "real_lr" / f"{name}.png", lr)
