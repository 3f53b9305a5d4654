"""Stage 1 on NaN/Inf losses and with gradient clipping: the guard it shares with stage 2
(``dasr.engine.guarded_step``) skips the bad step, leaves the weights as they were, warns, and
stops the run after ``dsn.max_bad_steps`` in a row."""

from __future__ import annotations

import pytest
import torch

from dasr.errors import DasrError
from tests.helpers import make_dsn_trainer, tiny_dsn_config


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return torch.rand(2, 3, 32, 32, generator=generator), torch.rand(2, 3, 8, 8, generator=generator)


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [parameter.detach().clone() for parameter in module.parameters()]


def test_a_nan_loss_skips_both_steps_and_keeps_the_weights() -> None:
    trainer = make_dsn_trainer(tiny_dsn_config("dsn.max_bad_steps=3"))
    hr, real_lr = batch()
    generator_before, discriminator_before = weights(trainer.generator), weights(trainer.discriminator)
    hr[0, 0, 0, 0] = float("nan")
    losses = trainer.step(hr, real_lr, adversarial=True, iteration=7)
    with pytest.warns(UserWarning, match="iteration 7: the generator loss is NaN/Inf; the discriminator loss"):
        trainer.bad_steps.settle()  # where the training loop reads its losses
    assert losses["skipped"] == 1 and trainer.bad_steps.in_a_row == 1
    for before, after in zip(generator_before + discriminator_before, weights(trainer.generator)
                             + weights(trainer.discriminator)):
        assert torch.equal(before, after)

    losses = trainer.step(*batch(), adversarial=True, iteration=8)  # a good batch resets the count
    trainer.bad_steps.settle()
    assert losses["skipped"] == 0 and trainer.bad_steps.in_a_row == 0
    assert any(not torch.equal(a, b) for a, b in zip(generator_before, weights(trainer.generator)))


def test_max_bad_steps_in_a_row_stop_the_run_with_the_settings_to_change() -> None:
    trainer = make_dsn_trainer(tiny_dsn_config("dsn.max_bad_steps=2"))
    hr, real_lr = batch()
    hr[:] = float("inf")
    trainer.step(hr, real_lr, adversarial=False, iteration=1)
    with pytest.warns(UserWarning, match="1 in a row; 2 stop the run"):
        trainer.bad_steps.settle()
    trainer.step(hr, real_lr, adversarial=False, iteration=2)
    with pytest.raises(DasrError, match=r"2 iterations in a row .* set dsn\.grad_clip or lower dsn\.lr"):
        trainer.bad_steps.settle()


def test_grad_clip_bounds_the_generator_update() -> None:
    """With plain SGD the update is lr x gradient, so a clipped step moves the weights by at most
    lr x clip in norm, and an unclipped one by more."""
    steps = {}
    for clip in (None, 1e-3):
        trainer = make_dsn_trainer(tiny_dsn_config(*([] if clip is None else [f"dsn.grad_clip={clip}"])))
        trainer.optimizer_g = torch.optim.SGD(trainer.generator.parameters(), lr=1.0)
        before = weights(trainer.generator)
        trainer.step(*batch(), adversarial=False)
        steps[clip] = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(weights(trainer.generator), before)))
    assert steps[1e-3] <= 1e-3 * (1 + 1e-4)
    assert steps[None] > 3 * steps[1e-3]  # unclipped: 0.0054 here
