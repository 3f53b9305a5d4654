"""``guarded_step`` on its own: a good step is the optimizer's own step, a bad one (NaN loss with
a finite gradient, Inf gradient) changes nothing, for fused Adam (the stages' optimizer, which
skips on a device flag), plain Adam and SGD (one host read), with and without fp16 loss scaling;
and fused Adam trains as plain Adam does."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from dasr.engine import guarded_step as guarded_step_module
from dasr.engine.guarded_step import BadSteps, guarded_step
from dasr.engine.lr_schedule import adam

OPTIMIZERS = {
    "fused adam": lambda parameters: torch.optim.Adam(parameters, lr=1e-2, fused=True),
    "adam": lambda parameters: torch.optim.Adam(parameters, lr=1e-2),
    "sgd": lambda parameters: torch.optim.SGD(parameters, lr=1e-2),
}


def network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def loss_of(module: nn.Module, poison: float = 0.0) -> torch.Tensor:
    """A loss whose gradient ignores ``poison`` (a NaN there makes the loss, not the gradient, bad)."""
    x = torch.linspace(-1, 1, 12).reshape(3, 4)
    return module(x).square().mean() + torch.tensor(poison)


def scaler(enabled: bool) -> torch.amp.GradScaler:
    return torch.amp.GradScaler("cpu", init_scale=2.0**10, enabled=enabled)


@pytest.mark.parametrize("scaling", [False, True])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_a_good_step_is_the_optimizers_own_step(kind: str, scaling: bool) -> None:
    guarded, reference = network(), network()
    optimizer, expected = OPTIMIZERS[kind](guarded.parameters()), OPTIMIZERS[kind](reference.parameters())
    flags = guarded_step(optimizer, scaler(scaling), guarded, loss_of(guarded), None)
    loss_of(reference).backward()
    expected.step()
    assert flags.tolist() == [False, False]
    for a, b in zip(guarded.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("scaling", [False, True])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
@pytest.mark.parametrize("bad", ["loss", "gradient"])
def test_a_bad_step_changes_nothing(kind: str, scaling: bool, bad: str) -> None:
    module = network()
    before = copy.deepcopy(module.state_dict())
    optimizer, loss_scaler = OPTIMIZERS[kind](module.parameters()), scaler(scaling)
    if bad == "gradient":
        module[0].weight.register_hook(lambda grad: grad * float("inf"))
    flags = guarded_step(optimizer, loss_scaler, module, loss_of(module, float("nan") if bad == "loss" else 0.0), None)
    for name, value in module.state_dict().items():
        assert torch.equal(value, before[name]), name
    for state in optimizer.state.values():  # a fused Adam makes its state on a skipped first step: all zeros
        assert all(not value.any() for value in state.values() if torch.is_tensor(value))
    # Under fp16 an Inf gradient of a finite loss is the scaler's own skip (it lowers its scale), not a bad step.
    assert flags.tolist() == ([True, False] if bad == "loss" else [False, not scaling])
    assert loss_scaler.get_scale() == (2.0**9 if scaling else 1.0)


def test_fused_adam_trains_as_plain_adam_does() -> None:
    """The stages' optimizer (``adam``: fused where the device has it) against torch's default
    implementation over 20 guarded steps: the same weights within float tolerance."""

    class Settings:
        lr, betas = 1e-2, (0.9, 0.99)

    fused_net, plain_net = network(), network()
    fused = adam(fused_net, Settings)
    plain = torch.optim.Adam(plain_net.parameters(), lr=Settings.lr, betas=Settings.betas)
    assert fused.defaults["fused"] and not plain.defaults["fused"]
    for _ in range(20):
        for module, optimizer in ((fused_net, fused), (plain_net, plain)):
            guarded_step(optimizer, scaler(False), module, loss_of(module), 1.0)
    for a, b in zip(fused_net.parameters(), plain_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(fused_net.parameters(), network().parameters()))


def test_bad_steps_read_their_flags_themselves_when_nobody_settles(monkeypatch) -> None:
    """A caller that never settles (a benchmark's loop) keeps at most MAX_PENDING iterations."""
    monkeypatch.setattr(guarded_step_module, "MAX_PENDING", 3)
    counter = BadSteps(limit=5, section="srn")
    good, bad = torch.tensor([False, False]), torch.tensor([True, False])
    counter.record({"generator": good}, 1)
    counter.record({"generator": bad}, 2)
    with pytest.warns(UserWarning) as warned:
        counter.record({"generator": bad}, 3)  # the third record reads all three
    assert [str(warning.message).split(":")[0] for warning in warned] == ["iteration 2", "iteration 3"]
    assert counter.in_a_row == 2 and not counter._pending
