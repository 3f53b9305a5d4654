"""Vanilla (non-saturating) GAN losses on discriminator logits, Eq. 2-3 of the paper.

The discriminators return logits, one per patch; ``D = sigmoid(logit)`` is the probability of
"real" (the real-LR domain in stage 1, HR in stage 2). The losses are written with
binary cross-entropy on logits, which evaluates ``log sigmoid`` without overflow for large
logits, and every expectation is a mean over all patch scores of the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dasr.archs.discriminators import judge_real_and_fake


def _bce_with_target(logits: Tensor, target: float, name: str) -> Tensor:
    if not torch.is_tensor(logits) or not logits.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of discriminator logits")
    if logits.numel() == 0:
        raise ValueError(f"{name} is empty")
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def generator_adversarial_loss(fake_logits: Tensor) -> Tensor:
    """``-E log D(fake)``: the generator is rewarded where the discriminator calls its output
    real (non-saturating form, which keeps gradients alive while D wins)."""
    return _bce_with_target(fake_logits, 1.0, "fake_logits")


def discriminator_adversarial_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """``-E log D(real) - E log(1 - D(fake))``, the two terms summed as in Eq. 3 (not averaged).

    Each expectation is taken over its own tensor, so real and fake batches may differ in size.
    Pass ``fake_logits`` computed from detached generator outputs.
    """
    return _bce_with_target(real_logits, 1.0, "real_logits") + _bce_with_target(
        fake_logits, 0.0, "fake_logits"
    )


def discriminator_losses(
    forward: Callable[[Tensor], Tensor], discriminator: nn.Module, real: Tensor, fake: Tensor
) -> dict[str, Tensor]:
    """The discriminator step's loss (``adv_d``) and its mean probabilities of "real" on the two
    batches (``p_real``, ``p_fake``, for the log), both stages' way: ``discriminator`` (the plain
    network that ``forward`` runs behind its filter) learns again, and ``fake`` is detached, so
    no gradient reaches the generator."""
    discriminator.requires_grad_(True)
    real_logits, fake_logits = judge_real_and_fake(forward, discriminator, real, fake.detach())
    return {
        "adv_d": discriminator_adversarial_loss(real_logits, fake_logits),
        "p_real": torch.sigmoid(real_logits.detach()).mean(),
        "p_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }
