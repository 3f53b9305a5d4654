"""The stage-2 step on a GPU (skipped without one): it never makes the host wait for the device
(torch's sync debug mode turns any synchronisation into an error), also on an iteration whose
steps the NaN/Inf guard skips, and its fused Adam trains as torch's default Adam does. On the
CPU, ``tests/test_srn_step.py`` checks the same step with every host read forbidden."""

from __future__ import annotations

import copy

import pytest
import torch

from dasr.config.loader import load_config
from dasr.engine.lr_schedule import build_optimization
from dasr.stage2_srn.ema import ModelEMA
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.step import SRNTrainer
from tests.conftest import TINY_SRN

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


def trainer_on_cuda(fused: bool = True) -> SRNTrainer:
    config = load_config("paper", (), [*TINY_SRN, "srn.perceptual=none"])
    torch.manual_seed(0)
    bundle = build_srn_networks(config)
    generator, discriminator = bundle.generator.to(CUDA), bundle.discriminator.to(CUDA)
    optimizers, _ = build_optimization({"generator": generator, "discriminator": discriminator}, config.srn,
                                       total_iters=10)
    if not fused:
        optimizers = {name: torch.optim.Adam(optimizer.param_groups[0]["params"], lr=config.srn.lr,
                                             betas=config.srn.betas, fused=False)
                      for name, optimizer in optimizers.items()}
    return SRNTrainer(generator, discriminator, bundle.freq_filter.to(CUDA), None, optimizers["generator"],
                      optimizers["discriminator"], config.srn, config.scale,
                      ema=ModelEMA(generator, config.srn.ema_decay))


def batch(scale: int = 4, bad: bool = False) -> dict[str, torch.Tensor]:
    rand = torch.Generator().manual_seed(1)
    images = {
        "pair_lr": torch.rand(2, 3, 16, 16, generator=rand),
        "pair_hr": torch.rand(2, 3, 16 * scale, 16 * scale, generator=rand),
        "pair_weight": torch.rand(2, 1, 16, 16, generator=rand),
        "real_lr": torch.rand(2, 3, 16, 16, generator=rand),
        "unpaired_hr": torch.rand(2, 3, 16 * scale, 16 * scale, generator=rand),
    }
    if bad:
        images["pair_lr"][0, 0, 0, 0] = float("nan")
    return {name: image.to(CUDA) for name, image in images.items()}


def test_the_step_never_waits_for_the_device() -> None:
    trainer = trainer_on_cuda()
    batches = [batch(), batch(bad=True), batch()]
    trainer.step(batches[0], adversarial=True, iteration=0)  # the first step allocates the optimizer state
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for iteration, images in enumerate(batches, start=1):
            trainer.step(images, adversarial=True, iteration=iteration)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    with pytest.warns(UserWarning, match="iteration 2: the generator loss is NaN/Inf"):
        trainer.bad_steps.settle()


def test_fused_adam_trains_as_the_default_adam_on_cuda() -> None:
    fused, plain = trainer_on_cuda(fused=True), trainer_on_cuda(fused=False)
    start = copy.deepcopy(plain.generator.state_dict())
    for iteration in range(5):
        for trainer in (fused, plain):
            trainer.step(batch(), adversarial=True, iteration=iteration)
    for name, value in fused.generator.state_dict().items():
        torch.testing.assert_close(value, plain.generator.state_dict()[name], rtol=1e-4, atol=1e-5)
    assert any(not torch.equal(value, start[name]) for name, value in fused.generator.state_dict().items())
