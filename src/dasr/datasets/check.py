"""Checking a downloaded data set against its layout (:mod:`dasr.datasets.layouts`).

Finds every problem in one pass (missing folders, missing or surplus images, unexpected names)
rather than stopping at the first, so a user fixes a half-unpacked archive in one go before
starting a run that would otherwise fail, or silently train on the wrong images, hours in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from dasr.data.folders import is_listed_image
from dasr.datasets.layouts import LAYOUTS, ImageSet, Layout
from dasr.errors import DasrError

SHOWN_NAMES = 5
"""How many file names a problem quotes: enough to see the pattern, short enough to read."""


@dataclass
class CheckResult:
    """Images found per set (in layout order) and one line per problem; empty problems = OK."""

    layout: Layout
    root: Path
    found: list[tuple[ImageSet, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_dataset(root: str | Path, name: str) -> CheckResult:
    """Compare the folders under ``root`` with the layout of data set ``name``."""
    if name not in LAYOUTS:
        raise DasrError(f"unknown data set '{name}'; known data sets: {', '.join(LAYOUTS)}")
    layout = LAYOUTS[name]
    root = Path(root)
    if not root.is_dir():
        raise DasrError(f"data set root '{root}' is not a folder")
    result = CheckResult(layout, root)
    folders: dict[str, list[ImageSet]] = {}
    for image_set in layout.sets:
        folders.setdefault(image_set.folder, []).append(image_set)
    listed = {folder: _images_in(root / folder) for folder in folders}
    for image_set in layout.sets:
        images = listed[image_set.folder]
        matching = [name for name in images or () if _belongs(name, image_set)]
        result.found.append((image_set, len(matching)))
        if images is not None:  # a missing folder is one problem, reported below
            result.problems.extend(_count_problems(root, image_set, matching))
    for folder, sets in folders.items():
        images = listed[folder]
        if images is None:
            result.problems.append(f"missing folder {root / folder} ({', '.join(s.role for s in sets)})")
            continue
        strays = [name for name in images if not any(_belongs(name, s) for s in sets)]
        if strays:
            expected = " or ".join(_example(s) for s in sets)
            result.problems.append(
                f"{root / folder}: {len(strays)} images with unexpected names "
                f"({_quote(strays)}); expected names like {expected}"
            )
    return result


def _images_in(folder: Path) -> list[str] | None:
    """Names of the visible image files in ``folder``, or ``None`` when it is not a folder."""
    if not folder.is_dir():
        return None
    return sorted(entry.name for entry in folder.iterdir() if entry.is_file() and is_listed_image(entry))


def _belongs(name: str, image_set: ImageSet) -> bool:
    expected = _expected_lower(image_set)
    if expected is not None:
        return name.lower() in expected
    return image_set.pattern is None or re.fullmatch(image_set.pattern, name, re.IGNORECASE) is not None


@cache
def _expected_lower(image_set: ImageSet) -> frozenset[str] | None:
    """Computed once per set: a folder of thousands of images asks for each name."""
    expected = image_set.expected_names()
    return None if expected is None else frozenset(name.lower() for name in expected)


def _count_problems(root: Path, image_set: ImageSet, matching: list[str]) -> list[str]:
    where = f"{root / image_set.folder} ({image_set.role})"
    expected = image_set.expected_names()
    if expected is not None:
        present = {name.lower() for name in matching}
        missing = [name for name in expected if name.lower() not in present]
        if missing:
            return [f"{where}: {len(missing)} of {len(expected)} images missing ({_quote(missing)})"]
        return []
    if image_set.count is None:
        return [] if matching else [f"{where}: no images named like {_example(image_set)}"]
    if len(matching) < image_set.count:
        return [f"{where}: too few images, found {len(matching)} of {image_set.count}"]
    if len(matching) > image_set.count:
        return [f"{where}: too many images, found {len(matching)}, expected {image_set.count}"]
    return []


def _example(image_set: ImageSet) -> str:
    if image_set.names is not None:
        return image_set.names.format(image_set.first)
    return image_set.pattern or "any image name"


def _quote(names: list[str]) -> str:
    more = f", ... {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return ", ".join(names[:SHOWN_NAMES]) + more
