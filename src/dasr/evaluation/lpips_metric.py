"""LPIPS as an evaluation metric: AlexNet trunk, linear calibration v0.1, the paper's choice.

Its weights come in two parts: the AlexNet trunk from torchvision's hub cache and the linear
layers shipped inside the ``lpips`` package. Both are looked for on disk *before* building the
network, so a machine without network gets a one-line notice (``auto``) or error (``on``)
instead of a download attempt, and the other metrics are still reported.
"""

from __future__ import annotations

from typing import Literal

import torch

from dasr.errors import DasrError
from dasr.losses.perceptual import LPIPSLoss, lpips_unavailable_reason

LpipsMode = Literal["auto", "on", "off"]
LPIPS_NAME = "LPIPS AlexNet v0.1"


def load_lpips(mode: LpipsMode, device: torch.device) -> tuple[LPIPSLoss | None, str | None]:
    """``(network, None)`` when LPIPS is to be computed, else ``(None, notice or None)``;
    ``mode="on"`` turns a missing part into a ``DasrError``."""
    if mode == "off":
        return None, None
    reason = lpips_unavailable_reason()
    if reason is None:
        return LPIPSLoss("imagenet").to(device), None
    if mode == "on":
        raise DasrError(f"--lpips on: {reason}")
    return None, f"LPIPS skipped: {reason} (--lpips off hides this note)"
