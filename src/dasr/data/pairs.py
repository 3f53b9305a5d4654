"""Matching the files of two folders that show the same scenes (validation and evaluation pairs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dasr.errors import DasrError


def by_stem(paths: Sequence[Path], option: str) -> dict[str, Path]:
    """Paths by file name stem; two files with one stem could not be told apart."""
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        if path.stem in found:
            raise DasrError(f"{option}: '{found[path.stem]}' and '{path}' have the same name; pairs are matched by name")
        found[path.stem] = path
    return found


def pair_by_stem(
    first: list[Path], second: list[Path], *, first_option: str, second_option: str
) -> list[tuple[Path, Path]]:
    """Pairs ``(a, b)`` whose file names agree without extension, e.g. ``0801.png`` / ``0801.jpg``.

    Every file must have exactly one partner: a missing partner is an error naming the file,
    because silently evaluating on a subset would report misleading figures.
    """
    by_stem(first, first_option)
    second_by_stem = by_stem(second, second_option)
    first_stems = {path.stem for path in first}
    missing = [path for path in first if path.stem not in second_by_stem]
    if missing:
        raise DasrError(
            f"{second_option}: no image named '{missing[0].stem}.*' to pair with '{missing[0]}'"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    unmatched = [path for path in second if path.stem not in first_stems]
    if unmatched:
        raise DasrError(
            f"{first_option}: no image named '{unmatched[0].stem}.*' to pair with '{unmatched[0]}'"
            + (f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else "")
        )
    return [(path, second_by_stem[path.stem]) for path in first]
