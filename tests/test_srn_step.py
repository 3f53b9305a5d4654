"""Stage 2's iteration on stub networks: loss values, the map's effect, the Table 2 switches,
the EMA, gradient clipping and the NaN guard."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dasr.config.loader import load_config
from dasr.errors import DasrError
from dasr.losses.perceptual import PerceptualLoss
from dasr.metrics.protocol import quantize_8bit
from dasr.ops.resize import bicubic_downscale
from dasr.stage2_srn.ema import ModelEMA
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.step import SRNTrainer
from tests.conftest import TINY_SRN
from tests.helpers import STUB_SCALE, StubDiscriminator, make_srn_trainer


def make_batch(seed: int = 0, *, weight: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    return {
        "pair_lr": rand(2, 3, 4, 4),
        "pair_hr": rand(2, 3, 16, 16),
        "pair_weight": rand(2, 1, 4, 4) if weight is None else weight,
        "real_lr": rand(2, 3, 4, 4),
        "unpaired_hr": rand(2, 3, 16, 16),
    }


def test_losses_equal_hand_computation() -> None:
    # Constant weights per sample: their bilinear resize to any size is the same constant.
    weight = torch.tensor([0.25, 1.0]).view(2, 1, 1, 1).expand(2, 1, 4, 4).contiguous()
    batch = make_batch(weight=weight)
    trainer = make_srn_trainer(
        "srn.content_weight=0.3", "srn.perceptual_weight=0.7", "srn.adversarial_weight=0.11",
        perceptual=PerceptualLoss(nn.AvgPool2d(2)),
    )
    gain, d_weight = 1.5, 2.0

    def up(x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(STUB_SCALE, -2).repeat_interleave(STUB_SCALE, -1)

    sr, sr_real = gain * up(batch["pair_lr"]), gain * up(batch["real_lr"])
    hr, w = batch["pair_hr"], torch.tensor([0.25, 1.0])
    content = torch.stack([w[i] * (sr[i] - hr[i]).abs().mean() for i in range(2)]).mean()
    pool = nn.AvgPool2d(2)
    perceptual = torch.stack([w[i] * (pool(sr)[i] - pool(hr)[i]).abs().mean() for i in range(2)]).mean()
    fake_logits = d_weight * sr_real.mean(1)
    real_logits = d_weight * batch["unpaired_hr"].mean(1)
    adv_g = torch.log1p(torch.exp(-fake_logits)).mean()  # -log sigmoid
    adv_d = torch.log1p(torch.exp(-real_logits)).mean() + torch.log1p(torch.exp(fake_logits)).mean()

    losses = trainer.step(batch, adversarial=True)
    expected = {
        "content": content, "perceptual": perceptual, "adv_g": adv_g, "adv_d": adv_d,
        "total_g": 0.3 * content + 0.7 * perceptual + 0.11 * adv_g,
        "p_real": torch.sigmoid(real_logits).mean(), "p_fake": torch.sigmoid(fake_logits).mean(),
        "skipped": torch.tensor(0.0),
    }
    assert set(losses) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)


def test_pretraining_is_pixel_loss_only() -> None:
    perceptual = PerceptualLoss(nn.AvgPool2d(2))
    trainer = make_srn_trainer(perceptual=perceptual)
    losses = trainer.step(make_batch(), adversarial=False)
    assert set(losses) == {"content", "total_g", "skipped"}
    assert trainer.discriminator.inputs == []
    assert len(trainer.generator.calls) == 1  # no SR of real LR either


@pytest.mark.parametrize("weighting", ["map", "none"])
def test_map_weights_the_content_gradient(weighting: str) -> None:
    weight = torch.ones(2, 1, 4, 4)
    weight[..., :2] = 0  # left half of every LR patch is untrusted
    trainer = make_srn_trainer(f"srn.weighting={weighting}")
    batch = make_batch(weight=weight)
    trainer.step(batch, adversarial=False)
    gradient = trainer.generator.calls[0][1].grad
    hr_weight = F.interpolate(weight, size=(16, 16), mode="bilinear", align_corners=False).expand_as(gradient)
    untrusted = hr_weight == 0
    assert untrusted.any() and (~untrusted).any()
    assert bool((gradient[~untrusted] != 0).all())
    if weighting == "map":
        assert bool((gradient[untrusted] == 0).all())
        # Elsewhere the gradient is the weight times that of the plain L1 mean.
        sign = torch.sign(trainer.generator.calls[0][1] - batch["pair_hr"]).detach()
        torch.testing.assert_close(gradient, 0.01 * hr_weight * sign / gradient.numel())
    else:
        assert bool((gradient[untrusted] != 0).all())


def test_target_discriminator_judges_sr_of_real_lr_against_unpaired_hr() -> None:
    trainer = make_srn_trainer("srn.adversarial=target")
    batch = make_batch()
    trainer.step(batch, adversarial=True)
    calls, disc = trainer.generator.calls, trainer.discriminator
    # One generator forward over the pairs' LR and the real LR together.
    assert len(calls) == 1 and torch.equal(calls[0][0], torch.cat([batch["pair_lr"], batch["real_lr"]]))
    sr_real = calls[0][1][len(batch["pair_lr"]):].detach()
    assert len(disc.inputs) == 2
    assert torch.equal(disc.inputs[0], sr_real)  # generator step
    # discriminator step: real and fake in one forward (the stub has no normalisation layer)
    assert torch.equal(disc.inputs[1], torch.cat([batch["unpaired_hr"], sr_real]))
    assert disc.trainable == [False, True]  # frozen while the generator learns
    assert calls[0][1].grad[len(batch["pair_lr"]):].abs().sum() > 0  # the generator learned from SR(real LR)


def test_source_discriminator_judges_sr_of_pairs_against_their_hr() -> None:
    trainer = make_srn_trainer("srn.adversarial=source")
    batch = make_batch()
    trainer.step(batch, adversarial=True)
    calls, disc = trainer.generator.calls, trainer.discriminator
    assert len(calls) == 1 and torch.equal(calls[0][0], batch["pair_lr"])  # real LR is never used
    sr_pairs = calls[0][1].detach()
    expected = (sr_pairs, torch.cat([batch["pair_hr"], sr_pairs]))
    assert len(disc.inputs) == 2 and all(torch.equal(x, y) for x, y in zip(disc.inputs, expected))


def test_no_adversarial_means_no_discriminator() -> None:
    bundle = build_srn_networks(load_config("paper", (), [*TINY_SRN, "srn.adversarial=none"]))
    assert bundle.discriminator is None and bundle.freq_filter is None
    trainer = make_srn_trainer("srn.adversarial=none", perceptual=PerceptualLoss(nn.AvgPool2d(2)))
    losses = trainer.step(make_batch(), adversarial=True)
    assert set(losses) == {"content", "perceptual", "total_g", "skipped"}
    with pytest.raises(ValueError, match="adversarial"):
        SRNTrainer(trainer.generator, StubDiscriminator(), None, None, trainer.optimizer_g, None,
                   trainer.settings, STUB_SCALE, ema=trainer.ema)


def test_bicubic_pairs_downscale_the_hr_patches() -> None:
    trainer = make_srn_trainer("srn.pairs=bicubic", "srn.weighting=none", "srn.adversarial=source")
    batch = make_batch()
    del batch["pair_lr"], batch["pair_weight"]
    trainer.step(batch, adversarial=True)
    fed = trainer.generator.calls[0][0]
    assert torch.equal(fed, quantize_8bit(bicubic_downscale(batch["pair_hr"], STUB_SCALE)))
    assert torch.equal(fed * 255, torch.round(fed * 255))  # 8-bit values, like saved LR files


def test_ema_follows_its_formula_and_copies_buffers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = ModelEMA(model, 0.9)
    assert not ema.model.training and not any(p.requires_grad for p in ema.model.parameters())
    before = copy.deepcopy(ema.model.state_dict())
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    model.train()(torch.randn(5, 3))  # moves the BatchNorm running statistics
    ema.update(model)
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(ema.model.state_dict()[name], 0.9 * before[name] + 0.1 * parameter.detach())
    for name, buffer in model.named_buffers():
        assert torch.equal(ema.model.state_dict()[name], buffer)

    off = ModelEMA(model, 0.0)
    with torch.no_grad():
        model[0].weight.mul_(3)
    off.update(model)
    assert all(torch.equal(a, b) for a, b in zip(off.model.state_dict().values(), model.state_dict().values()))


def test_ema_is_updated_after_each_generator_step() -> None:
    trainer = make_srn_trainer("srn.ema_decay=0.5")
    trainer.step(make_batch(), adversarial=True)
    gain = trainer.generator.gain.detach()
    assert gain != 1.5
    torch.testing.assert_close(trainer.ema.model.gain.detach(), 0.5 * 1.5 + 0.5 * gain)


def test_gradient_clipping_limits_the_generator_update() -> None:
    clipped = make_srn_trainer("srn.grad_clip=0.0005", sgd=True)
    clipped.step(make_batch(), adversarial=False)
    assert 1.5 - clipped.generator.gain.item() == pytest.approx(0.0005, rel=1e-3)  # clip_grad_norm_'s eps
    free = make_srn_trainer(sgd=True)
    free.step(make_batch(), adversarial=False)
    assert abs(1.5 - free.generator.gain.item()) > 0.001


def untouched(optimizer: torch.optim.Optimizer) -> bool:
    """Adam's moments and step counts as before any step (a fused Adam that skipped its first
    step has made its state, all zeros)."""
    return all(float(state["step"]) == 0 and not state["exp_avg"].any() and not state["exp_avg_sq"].any()
               for state in optimizer.state.values())


def step_and_settle(trainer, batch, iteration: int) -> dict[str, torch.Tensor]:
    """One iteration, then the guard's reading of its flags (where the training loop reads its
    losses)."""
    losses = trainer.step(batch, adversarial=True, iteration=iteration)
    trainer.bad_steps.settle()
    return losses


def test_non_finite_steps_are_skipped_then_stop_the_run() -> None:
    trainer = make_srn_trainer("srn.max_bad_steps=3")
    bad = make_batch()
    bad["pair_lr"][0, 0, 0, 0] = float("nan")
    disc_before = trainer.discriminator.weight.detach().clone()
    with pytest.warns(UserWarning, match="iteration 7: the generator loss is NaN/Inf: step skipped"):
        losses = step_and_settle(trainer, bad, 7)
    assert losses["skipped"] == 1 and torch.isnan(losses["content"])
    assert trainer.generator.gain.item() == 1.5 and trainer.ema.model.gain.item() == 1.5
    assert untouched(trainer.optimizer_g)  # Adam's moments were not touched either
    assert trainer.discriminator.weight != disc_before  # its own inputs were finite

    with pytest.warns(UserWarning, match="iteration 8"):
        step_and_settle(trainer, bad, 8)
    assert step_and_settle(trainer, make_batch(), 9)["skipped"] == 0  # resets the count
    assert trainer.generator.gain.item() != 1.5
    for iteration in (10, 11):
        with pytest.warns(UserWarning, match=f"iteration {iteration}"):
            step_and_settle(trainer, bad, iteration)
    with pytest.raises(DasrError, match="3 iterations in a row had NaN/Inf .*iteration 12"):
        step_and_settle(trainer, bad, 12)


@contextmanager
def host_reads_refused(monkeypatch) -> Iterator[None]:
    """Every way Python code reads a tensor's value on the host (each a wait for a GPU) fails."""

    def refused(name: str):
        def host_read(*args, **kwargs):
            raise AssertionError(f"read a tensor on the host ({name})")

        return host_read

    with monkeypatch.context() as patch:
        for name in ("item", "tolist", "__bool__", "__float__", "__int__"):
            patch.setattr(torch.Tensor, name, refused(name))
        yield


def test_ema_reads_nothing_on_the_host_where_averaged_model_does(monkeypatch) -> None:
    """Why ``ModelEMA`` does not update through torch's ``AveragedModel``: that reads its update
    count on the host in every ``update_parameters`` (a wait for the GPU per iteration), ours
    reads nothing, and both compute the same average, bit for bit."""
    torch.manual_seed(0)
    model = nn.Linear(3, 4)
    ema = ModelEMA(model, 0.9)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    averaged.update_parameters(model)  # its first update copies the network, as ModelEMA starts
    with torch.no_grad():
        model.weight.add_(1.0)
    with host_reads_refused(monkeypatch):
        ema.update(model, skipped=torch.tensor(False))
        with pytest.raises(AssertionError, match="on the host"):
            averaged.update_parameters(model)
    averaged.update_parameters(model)
    assert torch.equal(ema.model.weight, averaged.module.weight)
    assert not torch.equal(ema.model.weight, model.weight)


def test_the_guard_decides_on_the_device_and_reads_its_flags_later(monkeypatch) -> None:
    """With fused Adam a bad iteration is skipped without the host reading any tensor: the
    flags are read when the loop settles, with the same warnings and the same stop as if each
    step had been read at once."""
    trainer = make_srn_trainer("srn.max_bad_steps=2")
    bad = make_batch()
    bad["pair_lr"][0, 0, 0, 0] = float("nan")

    with host_reads_refused(monkeypatch):
        for iteration, batch in enumerate((make_batch(), bad, make_batch(), bad, bad), start=1):
            trainer.step(batch, adversarial=True, iteration=iteration)
    with pytest.warns(UserWarning) as warned, pytest.raises(DasrError, match="2 iterations in a row .*iteration 5"):
        trainer.bad_steps.settle()
    assert [str(warning.message).split(":")[0] for warning in warned] == ["iteration 2", "iteration 4"]


def test_infinite_gradient_is_skipped() -> None:
    trainer = make_srn_trainer()
    batch = make_batch()
    batch["real_lr"][0, 0, 0, 0] = float("inf")  # SR(real LR) feeds only the adversarial terms
    with pytest.warns(UserWarning, match="NaN/Inf"):
        losses = step_and_settle(trainer, batch, 1)
    assert losses["skipped"] == 1
    assert trainer.generator.gain.item() == 1.5
