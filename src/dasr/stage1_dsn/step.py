"""One stage-1 training iteration (paper Eq. 1-4): the DSN's content and perceptual losses
against the bicubic downscale; the adversarial term and both guarded optimizer steps are
:meth:`dasr.engine.gan_trainer.GANTrainer.finish`, as in stage 2 (a NaN/Inf loss or gradient
skips the step with a warning, ``dsn.max_bad_steps`` in a row stop the run, ``dsn.grad_clip``
clips the generator's gradient norm).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dasr.config.schema import DSNConfig
from dasr.engine.gan_trainer import GANTrainer
from dasr.losses.content import weighted_l1
from dasr.ops.frequency import low_frequency
from dasr.ops.resize import bicubic_downscale


@dataclass
class DSNTrainer(GANTrainer):
    """Stage 1's networks, optimizers and losses; ``step`` runs one iteration."""

    settings: DSNConfig
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
        judged = (real_lr, generated) if adversarial else None
        return self.finish(losses, total, judged, iteration)
