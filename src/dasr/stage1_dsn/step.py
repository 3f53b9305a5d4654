"""One stage-1 training iteration (paper Eq. 1-4).

The generator step comes first, with the discriminator frozen, then the discriminator step on
the detached generated images. Every discriminator activation the generator back-propagates
through is therefore computed with the discriminator's current weights: the released code
reused activations from before the discriminator's optimizer step, which PyTorch >= 1.5 rejects.

Both optimizer steps are guarded (:mod:`dasr.engine.guarded_step`, as in stage 2): a NaN/Inf
loss or gradient skips the step with a warning, ``dsn.max_bad_steps`` in a row stop the run, and
``dsn.grad_clip`` clips the generator's gradient norm.

The frozen discriminator of the generator step is called unwrapped (see
``dasr.engine.distributed.data_parallel``): its DDP wrapper would wait for gradients of
parameters that get none. Networks run in ``precision`` (``train.amp``); losses in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dasr.config.schema import DSNConfig
from dasr.engine.distributed import unwrap
from dasr.engine.guarded_step import GuardedTrainer, guarded_step
from dasr.losses.content import weighted_l1
from dasr.losses.gan import discriminator_losses, generator_adversarial_loss
from dasr.ops.frequency import FrequencyFilter, low_frequency
from dasr.ops.resize import bicubic_downscale


@dataclass
class DSNTrainer(GuardedTrainer):
    """The networks, optimizers and losses of stage 1; ``step`` runs one iteration.

    ``generator`` and ``discriminator`` are what the training forwards call (possibly DDP or
    compiled wrappers, ``dasr.engine.acceleration``); ``scaler_g`` and ``scaler_d`` are the loss
    scalers of the two optimizers (disabled unless ``precision`` is fp16).
    """

    generator: nn.Module
    discriminator: nn.Module
    freq_filter: FrequencyFilter
    perceptual: nn.Module | None
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer
    settings: DSNConfig
    scale: int
    section = "dsn"

    def step(
        self, hr: torch.Tensor, real_lr: torch.Tensor, *, adversarial: bool, iteration: int | None = None
    ) -> dict[str, torch.Tensor]:
        """One iteration on a batch of HR patches and unrelated real-LR patches.

        ``adversarial=False`` is the content-only pre-training: no discriminator is involved.
        ``iteration`` only labels warnings. Returns the detached loss values for logging and
        ``skipped``: 1 when an optimizer step was skipped for NaN/Inf, else 0.
        """
        settings, precision = self.settings, self.precision
        bicubic_lr = bicubic_downscale(hr, self.scale)
        generated = precision.forward(self.generator, hr)

        if settings.content_space == "lowpass":
            content = weighted_l1(
                low_frequency(generated, settings.filter), low_frequency(bicubic_lr, settings.filter)
            )
        else:
            content = weighted_l1(generated, bicubic_lr)
        losses = {"content": content}
        total = settings.content_weight * content
        if self.perceptual is not None:
            losses["perceptual"] = precision.forward(self.perceptual, generated, bicubic_lr)
            total = total + settings.perceptual_weight * losses["perceptual"]
        frozen = unwrap(self.discriminator)
        if adversarial:
            frozen.requires_grad_(False)
            losses["adv_g"] = generator_adversarial_loss(precision.forward(frozen, self.freq_filter(generated)))
            total = total + settings.adversarial_weight * losses["adv_g"]
        losses["total_g"] = total

        steps = {"generator": guarded_step(self.optimizer_g, self.scaler_g, self.generator, total,
                                           settings.grad_clip)}
        if adversarial:
            losses.update(discriminator_losses(lambda x: precision.forward(self.discriminator, self.freq_filter(x)),
                                               frozen, real_lr, generated))
            steps["discriminator"] = guarded_step(self.optimizer_d, self.scaler_d, self.discriminator,
                                                  losses["adv_d"], None)
        return self.logged(losses, steps, iteration)
