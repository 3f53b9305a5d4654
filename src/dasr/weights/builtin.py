"""The RRDB weights shipped inside the package, named ``builtin:<name>``.

Each file in ``builtin/`` is a dasr model file (:mod:`dasr.inference.model_file`: safetensors,
BasicSR names, metadata recording the photos it was trained on and their licences, the
iterations, patch, batch and rate, the command, the date, and its PSNR/SSIM against bicubic
upsampling on held-out photos); ``scripts/train_builtin_weights.py`` makes them. A name without
its ``-x<scale>`` suffix (``builtin:rrdb-small``) means the file of the configured scale, so a
preset used at every scale (``cpu-small``) can name its start once.
"""

from __future__ import annotations

import re
from pathlib import Path

from dasr.errors import DasrError

BUILTIN_PREFIX = "builtin:"
BUILTIN_DIR = Path(__file__).parent / "builtin"
_SCALE_SUFFIX = re.compile(r"-x\d+$")


def builtin_names() -> list[str]:
    """Every accepted name: one per file (``builtin:rrdb-small-x4``), then each family without
    its scale (``builtin:rrdb-small``)."""
    stems = sorted(path.stem for path in BUILTIN_DIR.glob("*.safetensors"))
    families = sorted({_SCALE_SUFFIX.sub("", stem) for stem in stems} - set(stems))
    return [BUILTIN_PREFIX + name for name in stems + families]


def builtin_file(name: str, scale: int, option: str = "srn.init") -> Path | None:
    """The file of ``builtin:<name>``; for a family name, its member of ``scale``, or ``None``
    when the family has none at that scale (the caller then starts from scratch and says so).
    An unknown name is an error listing the known ones."""
    stem = name.removeprefix(BUILTIN_PREFIX)
    if BUILTIN_PREFIX + stem not in builtin_names():
        raise DasrError(f"{option}: unknown built-in weights '{name}'; available: {', '.join(builtin_names())}")
    exact = BUILTIN_DIR / f"{stem}.safetensors"
    if exact.is_file():
        return exact
    member = BUILTIN_DIR / f"{stem}-x{scale}.safetensors"
    return member if member.is_file() else None
