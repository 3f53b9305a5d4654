"""Write the demo's photos (``src/dasr/demo/photos``) from the development photos' wallpapers.

    python scripts/make_demo_photos.py --photos ../shared/data/photos

The demo needs photos that every install has, with no download: these 11 freely licensed
wallpapers (GPL-2+ and CC-BY-SA-3.0, ``src/dasr/demo/photos/README.md``), scaled to 768 px on the
long side so that the demo fits its 15-minute budget on 2 CPU cores, stored as JPEG at quality 95
without chroma subsampling (1.2 MB in all, against 3.6 MB as lossless WebP): at a quarter of the
size, in the LR the demo trains on, that compression is far below the camera's own.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from dasr.demo.dataset import PHOTOS_DIR, TRAIN_PHOTOS, VAL_PHOTOS

LONG_SIDE = 768


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the development photos folder")
    args = parser.parse_args()
    for name in (*TRAIN_PHOTOS, *VAL_PHOTOS):
        with Image.open(args.photos / f"{name}.png") as photo:
            photo = photo.convert("RGB")
            factor = LONG_SIDE / max(photo.size)
            size = (round(photo.width * factor), round(photo.height * factor))
            photo.resize(size, Image.LANCZOS).save(PHOTOS_DIR / f"{name}.jpg", quality=95, subsampling=0)
        print(PHOTOS_DIR / f"{name}.jpg", size)


if __name__ == "__main__":
    main()
