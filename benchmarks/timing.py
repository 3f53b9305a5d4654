"""Timing helpers shared by the benchmarks: warm-up, device sync, mean seconds per call."""

from __future__ import annotations

import time
from typing import Callable

import torch


def seconds_per_call(fn: Callable[[], object], *, device: torch.device, steps: int, warmup: int = 2) -> float:
    """Mean wall-clock seconds of ``fn()`` after ``warmup`` calls, with CUDA work waited for."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        fn()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    return (time.perf_counter() - start) / steps


def peak_memory_note(device: torch.device) -> str:
    if device.type != "cuda":
        return ""
    return f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
