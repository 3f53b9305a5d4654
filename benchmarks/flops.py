"""FLOP counting and a reference FLOP rate, for the utilisation figures of the benchmarks.

Utilisation = achieved FLOP/s of a workload / FLOP/s of a large 64->64 3x3 convolution (forward
and backward) in the same dtype on the same device, measured in the same process. That reference
is a rate this device really reaches on the work these networks are made of (3x3 convolutions of
64 channels), rather than a datasheet peak, and on a shared machine it is exactly as noisy as the
workload measured next to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from timing import seconds_per_call
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the convolutions and matrix products that ``fn()`` runs, backward included.

    ``torch.utils.flop_counter`` counts at the dispatcher, so it sees the backward kernels
    autograd runs; element-wise work is not counted (the usual "model FLOPs"). Count on an
    eager module: a ``torch.compile``-d one runs fused kernels the counter does not see.
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@dataclass(frozen=True)
class ReferenceRate:
    """The reference convolution's FLOP rate and what it was measured on."""

    flops_per_second: float
    shape: tuple[int, int, int, int]
    dtype: torch.dtype
    memory_format: str
    passes: str = "fwd+bwd"

    def describe(self) -> str:
        batch, channels, height, width = self.shape
        name = str(self.dtype).removeprefix("torch.")
        return (
            f"{self.flops_per_second / 1e12:.2f} TFLOP/s ({channels}->{channels} 3x3 conv {self.passes}, "
            f"{batch}x{height}x{width}, {name}, {self.memory_format})"
        )


def reference_conv_rate(
    device: torch.device, dtype: torch.dtype = torch.float32, *, steps: int = 5, backward: bool = True
) -> ReferenceRate:
    """The best FLOP rate of a 64->64 3x3 convolution's forward + backward (input and weight
    gradients) over the two memory formats: the attainable rate these networks are judged by.
    ``backward=False`` times the forward alone, under ``torch.inference_mode`` (for inference).

    Large enough to saturate the device: 16 x 256 x 256 on CUDA; 4 x 128 x 128 (15 GFLOP per
    call) on a CPU, where larger only takes longer.
    """
    shape = (16, 64, 256, 256) if device.type == "cuda" else (4, 64, 128, 128)
    conv = nn.Conv2d(64, 64, 3, padding=1).to(device, dtype)
    best: ReferenceRate | None = None
    for name, memory_format in (("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last)):
        conv = conv.to(memory_format=memory_format)
        inputs = torch.randn(shape, device=device, dtype=dtype).to(memory_format=memory_format).requires_grad_(backward)
        upstream = torch.randn(shape, device=device, dtype=dtype).to(memory_format=memory_format)

        def forward_backward() -> None:
            if backward:
                conv(inputs).backward(upstream)
            else:
                with torch.inference_mode():
                    conv(inputs)

        flops = count_flops(forward_backward)
        rate = flops / seconds_per_call(forward_backward, device=device, steps=steps, warmup=2)
        if best is None or rate > best.flops_per_second:
            best = ReferenceRate(rate, shape, dtype, name, "fwd+bwd" if backward else "fwd")
    assert best is not None
    return best
