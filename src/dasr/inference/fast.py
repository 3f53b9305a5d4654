"""Putting an SR network in its fastest inference layout: channels_last weights.

Convolutions then run on NHWC activations: oneDNN's direct NHWC kernels on the CPU (instead of
reordering every activation to its blocked layout and back, around every convolution), cuDNN's
NHWC tensor-core kernels on CUDA. Every convolution output inherits the layout, so converting the
weights is enough; the outputs equal the plain NCHW forward's up to float rounding (measured and
tested: ``tests/test_inference_fast.py``, ``benchmarks/inference_speed.py``).

Measured and not adopted (figures in ``benchmarks/inference_speed.py``): ``torch.compile`` with
inductor freezing (76-90 s of compilation per input shape for the full network, then at most 7%
faster, and on one machine its output differed from eager by 5e-2), ``torch.jit.freeze`` +
``optimize_for_inference`` (54 s, no faster), and a hand-written oneDNN forward (prepacked
weights, LeakyReLU and residual adds fused into the convolutions, dense blocks writing into one
preallocated NHWC buffer instead of ``torch.cat``): within a few per cent of plain channels_last
(faster in some runs, slower in others), not worth private operators and a second forward.

Only the memory layout of the parameters changes, never their names or values: the network's
``state_dict`` keys stay BasicSR's.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def prepare_for_inference(network: nn.Module, device: torch.device, *, optimize: bool = True) -> nn.Module:
    """``network`` on ``device`` in eval mode without gradients, and with ``optimize`` in the
    channels_last layout. Converts in place (like ``Module.to``) and returns the network.

    On a CPU whose PyTorch has no oneDNN, channels_last convolutions have no fast kernel: the
    network then stays NCHW, with a one-line warning.
    """
    network = network.to(device).eval().requires_grad_(False)
    if not optimize:
        return network
    if device.type == "cpu" and not torch.backends.mkldnn.is_available():
        warnings.warn("oneDNN is not available in this PyTorch: using the plain NCHW forward", stacklevel=2)
        return network
    return network.to(memory_format=torch.channels_last)
