"""``srn.init``'s value -> the weights file to start from (or none)."""

from __future__ import annotations

import warnings
from pathlib import Path

from dasr.errors import DasrError
from dasr.weights.builtin import BUILTIN_PREFIX, builtin_file, builtin_names
from dasr.weights.public import PUBLIC_WEIGHTS, public_file

NO_INIT = "none"
"""The value meaning "random initialisation" (null means the same)."""


def resolve_init(value: str | None, scale: int, option: str = "srn.init") -> Path | None:
    """The file ``value`` names at ``scale``, or ``None`` for a random start: ``none``/null, a
    ``builtin:`` name, a public model's name (cached or downloaded), else a path."""
    if value is None or value == NO_INIT:
        return None
    if value.startswith(BUILTIN_PREFIX):
        path = builtin_file(value, scale, option)
        if path is None:
            warnings.warn(
                f"{option}={value}: no built-in weights for x{scale} "
                f"(available: {', '.join(builtin_names())}); stage 2 starts from random weights",
                stacklevel=2,
            )
        return path
    if value in PUBLIC_WEIGHTS:
        return public_file(PUBLIC_WEIGHTS[value], option)
    path = Path(value).expanduser()
    if not path.exists():
        raise DasrError(
            f"{option}: '{value}' is not a file, '{NO_INIT}', a built-in name ({', '.join(builtin_names())}) "
            f"or a public model ({', '.join(PUBLIC_WEIGHTS)})"
        )
    return path
