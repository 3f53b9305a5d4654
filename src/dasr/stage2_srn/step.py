"""One stage-2 training iteration (paper Eq. 5-7) with the switches of Table 2.

- ``srn.pairs``: ``generated`` trains on the batch's (DSN(HR), HR) pairs; ``bicubic`` makes the
  LR of each pair by downscaling its HR patch on the device, quantised to 8 bits as the LR
  files of bicubic data sets (and the generated pairs) are, so the two differ only in the
  degradation.
- ``srn.weighting``: ``map`` weights the pixel and the perceptual loss by the pair's
  domain-distance map (Eq. 6), bilinearly resized from LR resolution to the HR patch and to the
  feature map; ``none`` weights every pixel 1.
- ``srn.adversarial``: ``target`` (Eq. 5): the discriminator tells SR(real LR) from unpaired HR,
  so the generator learns what its output on *real* LR should look like; ``source`` (ESRGAN,
  FSSR): SR(pair LR) vs the pair's HR; ``none``: no discriminator at all.

Supervised training on real aligned pairs (the paper's "supervised ESRGAN") is this same step
with ``pairs=generated`` (the batch's pairs are used as they are), ``weighting=none`` and
``adversarial=source``: see :func:`dasr.stage2_srn.trainer.resolve_settings`.

The adversarial term and the two guarded optimizer steps are those of stage 1
(:meth:`dasr.engine.gan_trainer.GANTrainer.finish`): a step whose loss or gradient is NaN/Inf
is skipped with a warning, and ``srn.grad_clip`` clips the generator's gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from dasr.config.schema import SRNConfig
from dasr.engine.gan_trainer import GANTrainer
from dasr.losses.content import weighted_l1
from dasr.metrics.protocol import quantize_8bit
from dasr.ops.resize import bicubic_downscale
from dasr.stage2_srn.ema import ModelEMA


def judges_real_lr(adversarial: str) -> bool:
    """Whether the discriminator of this ``srn.adversarial`` mode judges SR(real LR) against
    unpaired HR, so that every batch must carry real-LR and unpaired-HR patches. The one place
    that says what a mode needs: the trainer asks it which images to sample and to require."""
    return adversarial == "target"


@dataclass
class SRNTrainer(GANTrainer):
    """Stage 2's networks, optimizers, losses and EMA; ``step`` runs one iteration.
    ``discriminator``, ``freq_filter`` and ``optimizer_d`` are ``None`` exactly when
    ``settings.adversarial == "none"``."""

    settings: SRNConfig
    ema: ModelEMA = field(kw_only=True)
    section = "srn"

    def __post_init__(self) -> None:
        super().__post_init__()
        wanted = self.settings.adversarial != "none"
        if any((part is not None) != wanted for part in (self.discriminator, self.freq_filter, self.optimizer_d)):
            raise ValueError("a discriminator, its filter and its optimizer go exactly with adversarial != none")

    def step(
        self, batch: dict[str, Tensor], *, adversarial: bool, iteration: int | None = None
    ) -> dict[str, Tensor]:
        """One iteration on a batch of ``dasr.data.stage2.Stage2Patches`` (on the device).

        ``adversarial=False`` is the PSNR-oriented pre-training of ESRGAN: the (weighted) pixel
        loss alone, no perceptual and no adversarial term, so the generator first learns a
        faithful reconstruction that the full loss then sharpens. ``iteration`` only labels
        warnings. Returns the detached losses for logging (tensors: no extra device sync) and
        ``skipped``: 1 when an optimizer step was skipped for NaN/Inf, else 0.
        """
        settings, precision = self.settings, self.precision
        pair_hr = batch["pair_hr"]
        pair_lr = self.pair_lr(batch)
        weight = batch["pair_weight"] if settings.weighting == "map" else None
        with_gan = adversarial and self.discriminator is not None
        sr, sr_real = self.super_resolve(pair_lr, batch.get("real_lr") if with_gan else None)

        losses = {"content": weighted_l1(sr, pair_hr, weight)}
        total = settings.content_weight * losses["content"]
        if adversarial and self.perceptual is not None:
            losses["perceptual"] = precision.forward(self.perceptual, sr, pair_hr, weight)
            total = total + settings.perceptual_weight * losses["perceptual"]
        judged = self.judged_pair(batch, sr, sr_real) if with_gan else None
        return self.finish(losses, total, judged, iteration)

    def generator_stepped(self, flags: Tensor) -> None:
        self.ema.update(self.generator, skipped=flags.any())

    def pair_lr(self, batch: dict[str, Tensor]) -> Tensor:
        """The LR half of the training pairs: the batch's, or the 8-bit bicubic downscale of
        the pairs' HR patches (``srn.pairs=bicubic``)."""
        if self.settings.pairs == "bicubic":
            return quantize_8bit(bicubic_downscale(batch["pair_hr"], self.scale))
        return batch["pair_lr"]

    def super_resolve(self, pair_lr: Tensor, real_lr: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """SR of the pairs' LR and, when the discriminator judges it, of the real LR, in one
        generator forward over both batches (their patches have the same size): one backward and
        half the kernel launches, and the same result as two forwards, since the generator
        treats every image on its own (no batch statistics)."""
        if real_lr is None or not judges_real_lr(self.settings.adversarial):
            return self.precision.forward(self.generator, pair_lr), None
        both = self.precision.forward(self.generator, torch.cat([pair_lr, real_lr]))
        sr, sr_real = both.split([len(pair_lr), len(real_lr)])
        return sr, sr_real

    def judged_pair(self, batch: dict[str, Tensor], sr_pairs: Tensor, sr_real: Tensor | None) -> tuple[Tensor, Tensor]:
        """``(real, fake)`` the discriminator compares: unpaired HR vs SR(real LR) for
        ``target`` (Eq. 5), the pairs' HR vs SR(pair LR) for ``source``."""
        if sr_real is not None:
            return batch["unpaired_hr"], sr_real
        return batch["pair_hr"], sr_pairs
