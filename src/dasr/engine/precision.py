"""Mixed precision (``train.amp``): which dtype the networks' forwards run in, and loss scaling.

Only network forwards run under autocast; their outputs come back as float32, so every loss,
the MATLAB bicubic reference, the frequency filters and the sigmoid BCE are computed in float32
whatever the networks ran in. On the CPU training is always float32: autocast there would be
slower than float32 on most CPUs, and fp16 on the CPU is what users of the released code hit.

fp16 overflows where bf16 does not, so fp16 scales each loss before ``backward`` with one
``GradScaler`` per optimizer (generator and discriminator learn at different gradient sizes);
a step the scaler skips for an overflow is its normal working, not a diverged step. The
scalers' state is saved in checkpoints with the optimizers'.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dasr.errors import DasrError


@dataclass(frozen=True)
class Precision:
    """``dtype``: the autocast dtype of network forwards (``None`` = float32); ``scale_losses``:
    use enabled ``GradScaler`` s (fp16). The default is plain float32."""

    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scale_losses: bool = False

    def forward(self, module: nn.Module, *inputs: Tensor) -> Tensor:
        """``module(*inputs)`` under autocast, returned as float32 for the losses."""
        if self.dtype is None:
            return module(*inputs)
        with torch.autocast(self.device_type, dtype=self.dtype):
            output = module(*inputs)
        return output.float()

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A scaler for one optimizer; disabled (every call a pass-through) unless fp16."""
        return torch.amp.GradScaler(self.device_type, enabled=self.scale_losses)


def resolve_precision(mode: str, device: torch.device) -> Precision:
    """The precision ``train.amp`` means on ``device``.

    ``auto``: bf16 on GPUs that compute it natively (Ampere and later), else fp16; ``bf16``,
    ``fp16``: that dtype; ``fp32``: no mixed precision. The CPU always trains in float32 (with a warning when
    bf16 or fp16 was asked for explicitly).
    """
    if device.type != "cuda":
        if mode in ("bf16", "fp16"):
            warnings.warn(f"train.amp={mode} has no effect on the CPU: training in float32", stacklevel=2)
        return Precision(device.type)
    if mode == "fp32":
        return Precision(device.type)
    native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    if mode == "bf16" and not native_bf16:
        raise DasrError("train.amp=bf16 but this GPU does not compute bfloat16; use train.amp=fp16 or auto")
    dtype = torch.bfloat16 if mode == "bf16" or (mode == "auto" and native_bf16) else torch.float16
    return Precision(device.type, dtype, scale_losses=dtype == torch.float16)
