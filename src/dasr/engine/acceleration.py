"""How the networks of a training step are run: ``train.channels_last``, data parallelism and
``train.compile``.

The trainers keep the plain network for everything but the training forwards (EMA, samples,
validation, checkpoints with plain state-dict names) and call what :func:`prepare_network`
returns in the steps. Both share the same parameter tensors, so one optimizer serves both.
"""

from __future__ import annotations

import torch
from torch import nn

from dasr.config.schema import TrainConfig
from dasr.engine.distributed import data_parallel


def prepare_network(module: nn.Module, train: TrainConfig) -> nn.Module:
    """``module`` (already on its device) ready for training steps.

    channels_last converts the weights in place (convolutions then run NHWC, which tensor
    cores prefer); DDP wraps next; ``torch.compile`` wraps last, so that it sees DDP and can
    split its graph at DDP's gradient buckets, keeping communication overlapped with backward.
    """
    if uses_channels_last(train, next(module.parameters()).device):
        module.to(memory_format=torch.channels_last)
    prepared = data_parallel(module)
    if train.compile:
        prepared = torch.compile(prepared, mode=train.compile_mode)
    return prepared


def uses_channels_last(train: TrainConfig, device: torch.device) -> bool:
    """``train.channels_last``, or where unset, whether ``device`` is a GPU (where it wins)."""
    return device.type == "cuda" if train.channels_last is None else train.channels_last


def memory_format(train: TrainConfig, device: torch.device) -> torch.memory_format:
    """The layout to move training batches to, matching the weights'."""
    return torch.channels_last if uses_channels_last(train, device) else torch.contiguous_format
