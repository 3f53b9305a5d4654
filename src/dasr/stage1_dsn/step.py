"""One stage-1 training iteration (paper Eq. 1-4).

The generator step comes first, with the discriminator frozen, then the discriminator step on
the detached generated images. Every discriminator activation the generator back-propagates
through is therefore computed with the discriminator's current weights: the released code
reused activations from before the discriminator's optimizer step, which PyTorch >= 1.5 rejects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dasr.config.schema import DSNConfig
from dasr.losses.content import weighted_l1
from dasr.losses.gan import discriminator_adversarial_loss, generator_adversarial_loss
from dasr.ops.frequency import FrequencyFilter, low_frequency
from dasr.ops.resize import bicubic_downscale


@dataclass
class DSNTrainer:
    """The networks, optimizers and losses of stage 1; ``step`` runs one iteration."""

    generator: nn.Module
    discriminator: nn.Module
    freq_filter: FrequencyFilter
    perceptual: nn.Module | None
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer
    settings: DSNConfig
    scale: int

    def step(self, hr: torch.Tensor, real_lr: torch.Tensor, *, adversarial: bool) -> dict[str, torch.Tensor]:
        """One iteration on a batch of HR patches and unrelated real-LR patches.

        ``adversarial=False`` is the content-only pre-training: no discriminator is involved.
        Returns the detached loss values for logging (tensors: no device sync per step).
        """
        settings = self.settings
        bicubic_lr = bicubic_downscale(hr, self.scale)
        generated = self.generator(hr)

        if settings.content_space == "lowpass":
            content = weighted_l1(
                low_frequency(generated, settings.filter), low_frequency(bicubic_lr, settings.filter)
            )
        else:
            content = weighted_l1(generated, bicubic_lr)
        losses = {"content": content}
        total = settings.content_weight * content
        if self.perceptual is not None:
            losses["perceptual"] = self.perceptual(generated, bicubic_lr)
            total = total + settings.perceptual_weight * losses["perceptual"]
        if adversarial:
            self.discriminator.requires_grad_(False)
            losses["adv_g"] = generator_adversarial_loss(self.discriminator(self.freq_filter(generated)))
            total = total + settings.adversarial_weight * losses["adv_g"]
        losses["total_g"] = total

        self.optimizer_g.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer_g.step()

        if adversarial:
            self.discriminator.requires_grad_(True)
            real_logits = self.discriminator(self.freq_filter(real_lr))
            fake_logits = self.discriminator(self.freq_filter(generated.detach()))
            losses["adv_d"] = discriminator_adversarial_loss(real_logits, fake_logits)
            self.optimizer_d.zero_grad(set_to_none=True)
            losses["adv_d"].backward()
            self.optimizer_d.step()
            losses["p_real"] = torch.sigmoid(real_logits.detach()).mean()
            losses["p_fake"] = torch.sigmoid(fake_logits.detach()).mean()
        return {name: value.detach() for name, value in losses.items()}
