"""Loading weights into a network exactly, or saying in one line why they do not fit.

``nn.Module.load_state_dict`` reports a mismatch as a multi-line ``RuntimeError`` listing every
key, and accepts NaN or Inf without a word: a network loaded from such a file writes black
images. Every loader of weights (RRDB files of any naming, model files, DSN checkpoints, the
released DSN, VGG-19) goes through :func:`fit_state_dict` instead, so a user who points a
command at the wrong or a damaged file gets one line naming the file and what is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from dasr.errors import DasrError


def some_keys(keys: list[str]) -> str:
    """Up to three keys and how many more, for a one-line message."""
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return ", ".join(f"'{key}'" for key in keys[:3]) + more


def first_non_finite(state: Mapping[str, Any]) -> str | None:
    """The first key of ``state`` whose floating tensor holds NaN or Inf, or None."""
    for key, value in state.items():
        if isinstance(value, Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return key
    return None


def fit_state_dict(
    module: nn.Module,
    state: Any,
    source: str,
    *,
    optional: Collection[str] = (),
    ignore_unexpected: bool = False,
    network: str | None = None,
) -> None:
    """Load ``state`` into ``module`` exactly: the same keys (``optional`` ones may be absent and
    keep the module's values; extra keys are an error unless ``ignore_unexpected``), the same
    shapes, only tensors, and every value finite. ``source`` starts every message (say which
    file, and which part of it); ``network`` names the module in messages (default: its class)."""
    if not isinstance(state, Mapping):
        raise DasrError(f"{source} holds a {type(state).__name__} where a dict of weights was expected")
    expected = module.state_dict()
    problems = {
        "missing": [key for key in expected if key not in state and key not in optional],
        "unexpected": [] if ignore_unexpected else [key for key in state if key not in expected],
        "not a tensor": [key for key in expected if key in state and not isinstance(state[key], Tensor)],
    }
    problems["wrong shape"] = [
        key
        for key in expected
        if key in state and isinstance(state[key], Tensor) and state[key].shape != expected[key].shape
    ]
    if any(problems.values()):
        details = "; ".join(f"{kind} {some_keys(keys)}" for kind, keys in problems.items() if keys)
        raise DasrError(f"{source} does not fit {network or type(module).__name__}: {details}")
    chosen = {key: state[key] if key in state else expected[key] for key in expected}
    bad = first_non_finite(chosen)
    if bad is not None:
        raise DasrError(f"{source} holds NaN or Inf in '{bad}': the weights are broken (was training diverging?)")
    module.load_state_dict(chosen)
