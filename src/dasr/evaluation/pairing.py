"""Which SR image belongs to which HR image (making a pair the same size is
:func:`dasr.metrics.protocol.align_to_reference`, which stage-2 validation shares).

Files are matched by name without extension, after removing an optional suffix that SR tools
(``0801_x4.png``, ``0801_out.png``) or data sets (RealSR's ``Canon_001_HR.png``) append. Every
file must find exactly one partner: evaluating a silent subset would report misleading figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dasr.errors import DasrError


@dataclass(frozen=True)
class Pair:
    """One scene: its name (the matched stem), the SR image and its HR reference."""

    name: str
    sr: Path
    hr: Path


def _by_key(paths: Sequence[Path], suffix: str, option: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        key = path.stem.removesuffix(suffix)
        if key in found:
            raise DasrError(
                f"{option}: '{found[key]}' and '{path}' both match the name '{key}'; pairs are matched by name"
            )
        found[key] = path
    return found


def _suffix_hint(name: str, others: dict[str, Path], own_option: str, other_option: str) -> str:
    """A suggestion when ``name`` and a partner's name differ by an ending (``0801_x4`` and
    ``0801``, or ``0801`` and ``0801_HR``); a differing digit is another number, not a suffix."""
    for other in others:
        longer, shorter, option = (name, other, own_option) if len(name) > len(other) else (other, name, other_option)
        if longer.startswith(shorter) and not longer[len(shorter)].isdigit():
            return f"; strip a suffix with {option} {longer[len(shorter):]}"
    return ""


def _unmatched(
    keys: dict[str, Path], others: dict[str, Path], other_option: str, options: tuple[str, str]
) -> DasrError | None:
    """The error for files of ``keys`` without a partner in ``others`` (``options``: the suffix
    options of ``keys`` and of ``others``)."""
    missing = [key for key in keys if key not in others]
    if not missing:
        return None
    first = missing[0]
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    hint = _suffix_hint(first, others, *options)
    return DasrError(f"{other_option}: no image named '{first}.*' to pair with '{keys[first]}'{more}{hint}")


def match_pairs(
    sr_paths: Sequence[Path],
    hr_paths: Sequence[Path],
    *,
    sr_suffix: str = "",
    hr_suffix: str = "",
    sr_option: str = "--sr",
    hr_option: str = "--hr",
) -> list[Pair]:
    """Pairs in SR order; a name found twice or a file without partner is a ``DasrError``."""
    sr = _by_key(sr_paths, sr_suffix, sr_option)
    hr = _by_key(hr_paths, hr_suffix, hr_option)
    error = _unmatched(sr, hr, hr_option, ("--sr-suffix", "--hr-suffix")) or _unmatched(
        hr, sr, sr_option, ("--hr-suffix", "--sr-suffix")
    )
    if error:
        raise error
    return [Pair(name, path, hr[name]) for name, path in sr.items()]

