"""Timing helpers shared by the benchmarks: warm-up, device sync, mean seconds per call."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work: CUDA calls return before their kernels finish."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], object], *, device: torch.device, steps: int, warmup: int = 2) -> float:
    """Mean wall-clock seconds of ``fn()`` after ``warmup`` calls, with CUDA work waited for."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def peak_memory_gib(device: torch.device) -> float | None:
    """Peak GPU memory allocated since the last ``torch.cuda.reset_peak_memory_stats``; None on a CPU."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**30
