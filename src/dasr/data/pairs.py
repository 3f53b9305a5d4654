"""Matching files by name without extension: validation, evaluation and training pairs, and the
HR images of ``dasr generate``, whose outputs are named by the same stems.

Every file must have exactly one partner: a missing partner is an error naming the file,
because silently working on a subset would report misleading figures. Defined once, so that
every command pairs and refuses the same way; callers choose the wording of a name clash.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from dasr.errors import DasrError

SAME_NAME = "{option}: '{first}' and '{second}' have the same name; pairs are matched by name"
"""The default wording of two files with one key (fields: option, first, second, key)."""


def by_stem(
    paths: Sequence[Path], option: str, *, suffix: str = "", clash: str = SAME_NAME
) -> dict[str, Path]:
    """Paths by file name stem, less ``suffix`` where a name ends with it (``0801_x4`` with
    ``_x4`` is ``0801``); two files with one key could not be told apart, a ``DasrError``
    worded by ``clash``."""
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        key = path.stem.removesuffix(suffix)
        if key in found:
            raise DasrError(clash.format(option=option, first=found[key], second=path, key=key))
        found[key] = path
    return found


def no_partner(
    keys: Mapping[str, Path],
    others: Collection[str],
    option: str,
    *,
    suffix_options: tuple[str, str] | None = None,
) -> DasrError | None:
    """The error for the files of ``keys`` without a partner among ``others`` (``option``: where
    the partner was looked for), or None when every file has one. ``suffix_options`` (the
    suffix options of ``keys`` and of ``others``) add a suggestion when two names differ by an
    ending."""
    missing = [key for key in keys if key not in others]
    if not missing:
        return None
    first = missing[0]
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    hint = "" if suffix_options is None else _suffix_hint(first, others, *suffix_options)
    return DasrError(f"{option}: no image named '{first}.*' to pair with '{keys[first]}'{more}{hint}")


def _suffix_hint(name: str, others: Collection[str], own_option: str, other_option: str) -> str:
    """A suggestion when ``name`` and a partner's name differ by an ending (``0801_x4`` and
    ``0801``, or ``0801`` and ``0801_HR``); a differing digit is another number, not a suffix."""
    for other in others:
        longer, shorter, option = (name, other, own_option) if len(name) > len(other) else (other, name, other_option)
        if longer.startswith(shorter) and not longer[len(shorter)].isdigit():
            return f"; strip a suffix with {option} {longer[len(shorter):]}"
    return ""


def pair_by_stem(
    first: Sequence[Path],
    second: Sequence[Path],
    *,
    first_option: str,
    second_option: str,
    suffixes: tuple[str, str] = ("", ""),
    suffix_options: tuple[str, str] | None = None,
    clash: str = SAME_NAME,
) -> list[tuple[Path, Path]]:
    """Pairs ``(a, b)`` in the order of ``first`` whose names agree without extension (and
    without ``suffixes``), e.g. ``0801.png`` / ``0801.jpg``; see :func:`by_stem` and
    :func:`no_partner` for the errors."""
    first_keys = by_stem(first, first_option, suffix=suffixes[0], clash=clash)
    second_keys = by_stem(second, second_option, suffix=suffixes[1], clash=clash)
    reverse = None if suffix_options is None else (suffix_options[1], suffix_options[0])
    error = no_partner(first_keys, second_keys, second_option, suffix_options=suffix_options) or no_partner(
        second_keys, first_keys, first_option, suffix_options=reverse
    )
    if error:
        raise error
    return [(path, second_keys[key]) for key, path in first_keys.items()]
