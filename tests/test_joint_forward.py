"""One forward where the paper has two, equal to two: stage 2's generator over the pairs' LR
and the real LR (losses and generator gradient on a tiny RRDBNet and patch discriminator in
float64, for every ``srn.adversarial`` mode), and both stages' discriminator over real and
fake together (logits, gradients, running statistics)."""

from __future__ import annotations

import copy

import pytest
import torch

from dasr.archs.discriminators import judge_real_and_fake
from dasr.archs.registry import build_arch
from dasr.config.loader import load_config
from dasr.losses.content import weighted_l1
from dasr.losses.gan import discriminator_adversarial_loss, generator_adversarial_loss
from dasr.stage2_srn.ema import ModelEMA
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.step import SRNTrainer
from tests.conftest import TINY_SRN


@pytest.mark.parametrize("adversarial", ["target", "source", "none"])
def test_one_forward_equals_two(adversarial: str) -> None:
    config = load_config("paper", (), [*TINY_SRN, "srn.perceptual=none", "srn.weighting=none",
                                       f"srn.adversarial={adversarial}"])
    torch.manual_seed(0)
    bundle = build_srn_networks(config)
    generator = bundle.generator.double()
    discriminator = None if bundle.discriminator is None else bundle.discriminator.double()
    reference_g, reference_d = copy.deepcopy(generator), copy.deepcopy(discriminator)
    srn, scale = config.srn, config.scale
    trainer = SRNTrainer(
        generator, discriminator, bundle.freq_filter, None,
        torch.optim.Adam(generator.parameters(), lr=1e-3),
        None if discriminator is None else torch.optim.Adam(discriminator.parameters(), lr=1e-3),
        srn, scale, ema=ModelEMA(generator, srn.ema_decay),
    )
    rand = torch.Generator().manual_seed(1)
    batch = {
        "pair_lr": torch.rand(2, 3, 8, 8, generator=rand, dtype=torch.float64),
        "pair_hr": torch.rand(2, 3, 8 * scale, 8 * scale, generator=rand, dtype=torch.float64),
        "real_lr": torch.rand(2, 3, 8, 8, generator=rand, dtype=torch.float64),
        "unpaired_hr": torch.rand(2, 3, 8 * scale, 8 * scale, generator=rand, dtype=torch.float64),
    }
    losses = trainer.step(batch, adversarial=True)

    sr = reference_g(batch["pair_lr"])
    content = weighted_l1(sr, batch["pair_hr"])
    total = srn.content_weight * content
    if adversarial != "none":
        fake = reference_g(batch["real_lr"]) if adversarial == "target" else sr
        reference_d.requires_grad_(False)
        adv_g = generator_adversarial_loss(reference_d(bundle.freq_filter(fake)))
        total = total + srn.adversarial_weight * adv_g
        torch.testing.assert_close(losses["adv_g"], adv_g.detach(), rtol=1e-10, atol=1e-12)
    total.backward()
    torch.testing.assert_close(losses["content"], content.detach(), rtol=1e-10, atol=1e-12)
    for (name, ours), theirs in zip(generator.named_parameters(), reference_g.parameters()):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-8, atol=1e-12, msg=name)


@pytest.mark.parametrize("norm", ["none", "instance", "batch"])
def test_one_discriminator_forward_equals_two(norm: str) -> None:
    """Real and fake through the discriminator together (no normalisation layer) or apart (with
    one): the logits, the loss's gradients and the running statistics of two forwards."""
    torch.manual_seed(0)
    discriminator = build_arch("patch_disc_paper", in_channels=9, num_features=8, norm=norm).double().train()
    reference = copy.deepcopy(discriminator)
    rand = torch.Generator().manual_seed(2)
    real, fake = (torch.rand(2, 9, 16, 16, generator=rand, dtype=torch.float64) for _ in range(2))
    calls = []

    def forward(x: torch.Tensor) -> torch.Tensor:
        calls.append(len(x))
        return discriminator(x)

    real_logits, fake_logits = judge_real_and_fake(forward, discriminator, real, fake)
    discriminator_adversarial_loss(real_logits, fake_logits).backward()
    expected_real, expected_fake = reference(real), reference(fake)
    discriminator_adversarial_loss(expected_real, expected_fake).backward()
    assert calls == ([4] if norm == "none" else [2, 2])
    torch.testing.assert_close(real_logits, expected_real, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fake_logits, expected_fake, rtol=1e-10, atol=1e-12)
    for (name, ours), theirs in zip(discriminator.named_parameters(), reference.parameters()):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-8, atol=1e-12, msg=name)
    for (name, ours), theirs in zip(discriminator.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(ours, theirs, msg=name)
