"""The part of one training iteration that both stages share: a generator, a patch discriminator
behind a frequency filter, and their two guarded optimizer steps.

A stage's trainer adds only its loss of one iteration (:meth:`GANTrainer.finish` takes it from
there). The generator step comes first, with the discriminator frozen, then the discriminator
step on the detached generated images. Every discriminator activation the generator
back-propagates through is therefore computed with the discriminator's current weights: the
released code reused activations from before the discriminator's optimizer step, which
PyTorch >= 1.5 rejects. The frozen discriminator of the generator step is called unwrapped
(see :func:`dasr.engine.distributed.data_parallel`): its DDP wrapper would wait for gradients
of parameters that get none. Networks run in ``precision`` (``train.amp``), losses in float32.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

import torch
from torch import Tensor, nn

from dasr.config.schema import StageConfig
from dasr.engine.acceleration import prepare_network
from dasr.engine.distributed import unwrap
from dasr.engine.guarded_step import BadSteps, guarded_step
from dasr.engine.precision import Precision
from dasr.engine.stage_setup import StageSetup
from dasr.engine.training_loop import Trainable
from dasr.losses.gan import discriminator_losses, generator_adversarial_loss
from dasr.losses.perceptual import build_perceptual_loss
from dasr.ops.frequency import FrequencyFilter

if TYPE_CHECKING:
    from typing_extensions import Self


class NetworkBundle(Protocol):
    """What a stage builds its trainer from (``DSNBundle``, ``SRNBundle``)."""

    generator: nn.Module
    discriminator: nn.Module | None
    freq_filter: FrequencyFilter | None


@dataclass
class GANTrainer:
    """The networks, optimizers, settings and guards of a stage; a subclass adds ``step`` (and
    narrows ``settings`` to its section's type). ``discriminator``, ``freq_filter`` and ``optimizer_d`` may be
    ``None`` (stage 2 without a GAN). ``generator`` and ``discriminator`` are what the training
    forwards call (possibly DDP or compiled wrappers, ``dasr.engine.acceleration``); ``scaler_g``
    and ``scaler_d`` are the optimizers' loss scalers (disabled unless ``precision`` is fp16)."""

    section: ClassVar[str]
    """The stage's settings section (``dsn``, ``srn``), which the guard's messages name."""
    generator: nn.Module
    discriminator: nn.Module | None
    freq_filter: FrequencyFilter | None
    perceptual: nn.Module | None
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer | None
    settings: StageConfig
    scale: int
    _: dataclasses.KW_ONLY
    precision: Precision = field(default_factory=Precision)
    scaler_g: torch.amp.GradScaler = field(default_factory=lambda: Precision().grad_scaler())
    scaler_d: torch.amp.GradScaler = field(default_factory=lambda: Precision().grad_scaler())
    bad_steps: BadSteps = field(init=False)
    """Iterations in a row that skipped an optimizer step."""

    def __post_init__(self) -> None:
        self.bad_steps = BadSteps(self.settings.max_bad_steps, self.section)

    @classmethod
    def for_stage(
        cls, setup: StageSetup, bundle: NetworkBundle, trainable: Trainable, **own: object
    ) -> Self:
        """The trainer of a stage's ``bundle`` (networks already on the device) in their DDP or
        compiled form, with the stage's perceptual loss and ``trainable``'s optimizers and loss
        scalers; ``own`` are the stage's own keyword fields (a run without discriminator gets a
        scaler that is never used)."""
        config, settings = setup.config, setup.settings
        perceptual = build_perceptual_loss(settings.perceptual, settings.perceptual_layer, settings.vgg_weights,
                                           section=setup.section)
        discriminator = bundle.discriminator
        return cls(
            prepare_network(bundle.generator, config.train),
            None if discriminator is None else prepare_network(discriminator, config.train),
            None if bundle.freq_filter is None else bundle.freq_filter.to(setup.device),
            None if perceptual is None else perceptual.to(setup.device),
            trainable.optimizers["generator"],
            trainable.optimizers.get("discriminator"),
            settings,
            config.scale,
            precision=setup.precision,
            scaler_g=trainable.scalers["generator"],
            scaler_d=trainable.scalers.get("discriminator", setup.precision.grad_scaler()),
            **own,
        )

    def finish(
        self, losses: dict[str, Tensor], total: Tensor, judged: tuple[Tensor, Tensor] | None, iteration: int | None
    ) -> dict[str, Tensor]:
        """Complete an iteration whose content losses the stage computed (``total``, weighted):
        with ``judged = (real, fake)`` add the generator's adversarial term on ``fake``, step the
        generator, then the discriminator on the pair. Returns the detached losses for the log
        and ``skipped``, after recording the steps' flags for :meth:`BadSteps.settle`."""
        settings = self.settings
        if judged is not None:
            frozen = unwrap(self.discriminator)
            frozen.requires_grad_(False)
            losses["adv_g"] = generator_adversarial_loss(self.precision.forward(frozen, self.freq_filter(judged[1])))
            total = total + settings.adversarial_weight * losses["adv_g"]
        losses["total_g"] = total
        steps = {"generator": guarded_step(self.optimizer_g, self.scaler_g, self.generator, total, settings.grad_clip)}
        self.generator_stepped(steps["generator"])
        if judged is not None:
            losses.update(discriminator_losses(self._judge, frozen, *judged))
            steps["discriminator"] = guarded_step(self.optimizer_d, self.scaler_d, self.discriminator,
                                                  losses["adv_d"], None)
        skipped = self.bad_steps.record(steps, iteration)
        return {**{name: value.detach() for name, value in losses.items()}, "skipped": skipped}

    def generator_stepped(self, flags: Tensor) -> None:
        """Called after each generator step with its guard flags (stage 2 updates its EMA)."""

    def _judge(self, images: Tensor) -> Tensor:
        return self.precision.forward(self.discriminator, self.freq_filter(images))
