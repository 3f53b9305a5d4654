"""Training losses: weighted pixel L1, perceptual (VGG-19 features or LPIPS), vanilla GAN.

Every supervised loss takes an optional weight map ``(N, 1, h, w)`` (stage 2's
domain-distance map, Eq. 6), resized to the resolution it weights; see
:func:`dasr.losses.content.weighted_mean` for the normalisation.
"""

from dasr.losses.content import weighted_l1, weighted_mean
from dasr.losses.gan import discriminator_adversarial_loss, generator_adversarial_loss
from dasr.losses.perceptual import (
    VGG19_LAYERS,
    LPIPSLoss,
    PerceptualLoss,
    VGGFeatures,
    build_perceptual_loss,
)

__all__ = [
    "VGG19_LAYERS",
    "LPIPSLoss",
    "PerceptualLoss",
    "VGGFeatures",
    "build_perceptual_loss",
    "discriminator_adversarial_loss",
    "generator_adversarial_loss",
    "weighted_l1",
    "weighted_mean",
]
