"""Running networks in eval mode for a while, whatever mode they were in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(*networks: nn.Module) -> Iterator[None]:
    """Put ``networks`` in eval mode for the block, then give each of their modules back its own
    mode. Validation, samples and maps run in the middle of training: normalisation layers must
    use their running statistics there (and tiles then equal the whole image), while training
    resumes afterwards with every layer as it was, a frozen one included."""
    modes = [(module, module.training) for network in networks for module in network.modules()]
    for network in networks:
        network.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training
