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

from dasr.data.pairs import pair_by_stem


@dataclass(frozen=True)
class Pair:
    """One scene: its name (the matched stem), the SR image and its HR reference."""

    name: str
    sr: Path
    hr: Path


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
    pairs = pair_by_stem(
        sr_paths,
        hr_paths,
        first_option=sr_option,
        second_option=hr_option,
        suffixes=(sr_suffix, hr_suffix),
        suffix_options=("--sr-suffix", "--hr-suffix"),
        clash="{option}: '{first}' and '{second}' both match the name '{key}'; pairs are matched by name",
    )
    return [Pair(sr.stem.removesuffix(sr_suffix), sr, hr) for sr, hr in pairs]
