"""Choosing the device named by the ``device`` key and making kernels deterministic on request."""

from __future__ import annotations

import os

import torch

from dasr.errors import DasrError


def select_device(name: str, option: str = "config key 'device'") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; an unusable CUDA request is a user error,
    reported under ``option`` (the config key, or a command-line option such as ``--device``)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device: torch.device | None = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise DasrError(f"{option} must be auto, cpu, cuda or cuda:N, got '{name}'")
    if device.type == "cpu":
        return device
    if not torch.cuda.is_available():
        raise DasrError(f"{option} is '{name}' but no CUDA device is available; use auto or cpu")
    if device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DasrError(f"{option} is '{name}' but there are {count} CUDA devices")
    return device


def set_determinism(enabled: bool) -> None:
    """Switch deterministic kernels on or off; call it before the first CUDA operation.

    ``CUBLAS_WORKSPACE_CONFIG`` is read when cuBLAS initialises, hence the timing. Kernels with no
    deterministic version (e.g. the CUDA backward of bilinear resizing, which the paper's DSN uses)
    warn instead of stopping the run: a long run should not die at its first step for that.
    cuDNN's benchmark mode is on otherwise, since training patches have one fixed size and the
    fastest algorithm is then found once.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
