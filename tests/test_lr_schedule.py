"""The learning-rate schedules against factors computed by hand, at the presets' own iterations
too, and the rates an optimizer from ``build_optimization`` steps with, also after a resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dasr.config.loader import load_config
from dasr.engine.lr_schedule import build_optimization, lr_factor


def factors(kind: str, total_iters: int, *, step: int = 1, gamma: float = 1.0, decay_iters: int | None = None,
            until: int | None = None) -> list[float]:
    factor = lr_factor(kind, total_iters=total_iters, step=step, gamma=gamma, decay_iters=decay_iters)
    return [factor(t) for t in range((total_iters if until is None else until) + 1)]


def test_step_multiplies_by_gamma_every_step_iterations() -> None:
    assert factors("step", 10, step=3, gamma=0.5) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]


def test_linear_is_constant_then_falls_to_zero_over_the_decay_iterations() -> None:
    assert factors("linear", 10, decay_iters=4, until=12) == [1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0]


def test_linear_decays_over_the_second_half_by_default() -> None:
    assert factors("linear", 10) == [1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0]
    assert factors("linear", 7) == pytest.approx([1, 1, 1, 1, 1, 2 / 3, 1 / 3, 0])  # 7 // 2 = 3 iterations


@pytest.mark.parametrize(("decay_iters", "expected"), [(100, [1, 0.75, 0.5, 0.25, 0]), (0, [1, 1, 1, 1, 0])])
def test_linear_decay_is_kept_within_the_run(decay_iters: int, expected: list[float]) -> None:
    """Longer than the run: it decays from the start; 0: it still reaches 0 at the end."""
    assert factors("linear", 4, decay_iters=decay_iters) == expected


def test_the_presets_schedules_at_their_turning_points() -> None:
    paper = load_config("paper").dsn  # the paper: halve every 10k iterations
    halving = lr_factor(paper.lr_schedule, total_iters=paper.pretrain_iters + paper.iters, step=paper.lr_step,
                        gamma=paper.lr_gamma, decay_iters=paper.lr_decay_iters)
    assert [halving(t) for t in (9_999, 10_000, 19_999, 20_000, 74_999)] == [1, 0.5, 0.5, 0.25, 0.5**7]

    official = load_config("official").dsn  # released code: 250 x 332 constant, then 150 x 332 down to 0
    assert (official.pretrain_iters, official.iters, official.lr_decay_iters) == (0, 400 * 332, 150 * 332)
    linear = lr_factor(official.lr_schedule, total_iters=official.iters, step=official.lr_step,
                       gamma=official.lr_gamma, decay_iters=official.lr_decay_iters)
    turning = 250 * 332
    assert [linear(t) for t in (turning - 1, turning, turning + 75 * 332, 400 * 332 - 1, 400 * 332)] == pytest.approx(
        [1, 1, 0.5, 1 / (150 * 332), 0], abs=1e-15
    )


def stepped_rates(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler, iterations: int
) -> list[float]:
    """The rate of each of ``iterations`` optimizer steps, advancing the schedule after each."""
    rates = []
    for _ in range(iterations):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def generator_optimization(settings) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """``build_optimization`` for a generator and an absent discriminator (``adversarial=none``)."""
    torch.manual_seed(0)
    optimizers, schedulers = build_optimization(
        {"generator": nn.Linear(2, 2), "discriminator": None}, settings, total_iters=6
    )
    assert optimizers.keys() == schedulers.keys() == {"generator"}  # nothing for the absent module
    return optimizers["generator"], schedulers["generator"]


def test_optimizers_step_with_the_scheduled_rates_also_after_resuming() -> None:
    settings = load_config("paper", (), ["dsn.lr=0.01", "dsn.lr_step=2", "dsn.lr_gamma=0.5", "dsn.betas=[0.5,0.9]"]).dsn
    optimizer, scheduler = generator_optimization(settings)
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.param_groups[0]["betas"] == (0.5, 0.9)
    assert stepped_rates(optimizer, scheduler, 6) == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025])

    first, first_scheduler = generator_optimization(settings)
    stepped_rates(first, first_scheduler, 3)
    resumed, resumed_scheduler = generator_optimization(settings)
    resumed.load_state_dict(first.state_dict())
    resumed_scheduler.load_state_dict(first_scheduler.state_dict())
    assert stepped_rates(resumed, resumed_scheduler, 3) == pytest.approx([0.005, 0.0025, 0.0025])
