"""The physical degradation model (``dsn.arch=physical``): shapes, its noise law, determinism,
gradients, that the wavelet GAN moves its noise level towards a known truth, and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dasr.archs.physical_dsn import PARAMETER_GAIN, PhysicalDSN
from dasr.cli.main import main
from dasr.config.loader import load_config
from dasr.degradations.blur import gaussian_kernel
from dasr.errors import DasrError
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.inference import downscale_with_dsn
from dasr.stage1_dsn.networks import build_dsn_networks
from dasr.stage1_dsn.step import DSNTrainer
from tests.conftest import TINY_DSN


def set_physical(model: PhysicalDSN, *, sigma=(0.4, 0.4), angle=0.0, a=1e-4, b=1e-5, correlation=0.1) -> None:
    with torch.no_grad():
        model.log_sigma.stored.copy_(torch.tensor(sigma).log() / PARAMETER_GAIN)
        model.angle.stored.fill_(angle / PARAMETER_GAIN)
        model.log_a.stored.fill_(math.log(a) / PARAMETER_GAIN)
        model.log_b.stored.fill_(math.log(b) / PARAMETER_GAIN)
        model.correlation_logit.stored.fill_(math.log(correlation / (1 - correlation)) / PARAMETER_GAIN)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_shapes_tiling_and_the_kernel(scale: int) -> None:
    model = PhysicalDSN(scale, kernel_size=7).eval()
    hr = torch.rand(2, 3, 48, 40)
    assert model(hr).shape == (2, 3, 48 // scale, 40 // scale)
    kernel = model.kernel()
    assert kernel.shape == (7, 7) and torch.isclose(kernel.sum(), torch.tensor(1.0))
    tiled = downscale_with_dsn(model, hr, scale=scale, tile=16, seed=5)
    assert torch.equal(tiled, downscale_with_dsn(model, hr, scale=scale, tile=1000, seed=5))


def test_kernel_is_dasr_degrades_gaussian() -> None:
    model = PhysicalDSN(4, kernel_size=7)
    set_physical(model, sigma=(1.0, 0.6), angle=math.radians(30))
    reference = gaussian_kernel(1.0, 0.6, 30.0)  # 7 x 7 for a largest sigma of 1
    assert torch.allclose(model.kernel(), torch.from_numpy(reference), atol=1e-6)


def test_a_point_kernel_gives_the_bicubic_downscale() -> None:
    model = PhysicalDSN(4, kernel_size=7)
    set_physical(model, sigma=(0.05, 0.05))
    hr = torch.rand(1, 3, 32, 32)
    assert torch.allclose(model.noise_free(hr), bicubic_downscale(hr, 4), atol=1e-6)


def test_noise_variance_is_a_x_plus_b_per_channel_with_the_set_correlation() -> None:
    model = PhysicalDSN(1, kernel_size=1)
    a, b = 0.004, 0.0004
    set_physical(model, a=a, b=b, correlation=0.5)
    for level in (0.2, 0.5, 0.8):
        clean = torch.full((1, 3, 128, 128), level)
        noise = model.corrupt(clean, torch.Generator().manual_seed(0)) - clean
        variance = noise.var(dim=(0, 2, 3))
        # 8-bit rounding adds 1/12 of a level squared
        assert torch.allclose(variance, torch.full((3,), a * level + b + 1 / (12 * 255**2)), rtol=0.05)
        correlation = torch.corrcoef(noise[0].reshape(3, -1))
        assert abs(correlation[0, 1].item() - 0.5) < 0.05
    output = model.corrupt(torch.full((1, 3, 8, 8), 0.5))
    assert torch.equal(output, torch.round(output * 255) / 255)


@pytest.mark.parametrize("jpeg", [False, True])
def test_seeded_generation_is_deterministic_and_seeds_differ(jpeg: bool) -> None:
    model = PhysicalDSN(2, kernel_size=5, jpeg=jpeg)
    hr = torch.rand(1, 3, 32, 32)
    first = downscale_with_dsn(model, hr, scale=2, tile=32, seed=1)
    assert torch.equal(first, downscale_with_dsn(model, hr, scale=2, tile=32, seed=1))
    assert not torch.equal(first, downscale_with_dsn(model, hr, scale=2, tile=32, seed=2))


@pytest.mark.parametrize("jpeg", [False, True])
def test_gradients_reach_every_parameter(jpeg: bool) -> None:
    model = PhysicalDSN(2, kernel_size=7, jpeg=jpeg)
    set_physical(model, sigma=(0.8, 1.3), angle=0.3, a=1e-3, b=1e-4, correlation=0.4)
    torch.manual_seed(0)
    weights = torch.randn(1, 3, 16, 16)
    (model(torch.rand(1, 3, 32, 32)) * weights).sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_a_fixed_jpeg_quality_is_the_learned_one_frozen_where_it_was_set() -> None:
    """``dsn.jpeg_quality=70`` gives exactly the output of a learned quality that stands at 70,
    and the quality is no parameter: training cannot move it."""
    fixed = PhysicalDSN(2, kernel_size=5, jpeg_quality=70.0)
    learned = PhysicalDSN(2, kernel_size=5, jpeg=True)
    with torch.no_grad():
        learned.quality_logit.stored.fill_(math.log(69 / 99 / (1 - 69 / 99)) / PARAMETER_GAIN)
    assert float(learned.quality()) == pytest.approx(70.0)
    assert float(fixed.quality()) == 70.0
    assert "quality_logit.stored" not in dict(fixed.named_parameters())
    assert fixed.state_dict()["fixed_quality"] == 70.0
    hr = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(downscale_with_dsn(fixed, hr, scale=2, tile=32, seed=1),
                               downscale_with_dsn(learned, hr, scale=2, tile=32, seed=1))
    with pytest.raises(DasrError, match="dsn.jpeg_quality must be a JPEG quality from 1 to 100, got 0"):
        PhysicalDSN(2, jpeg_quality=0)


def test_the_config_builds_a_fixed_quality() -> None:
    config = load_config("paper", (), [*TINY_DSN, "dsn.arch=physical", "dsn.kernel_size=5", "dsn.jpeg_quality=85"])
    assert float(build_dsn_networks(config).generator.quality()) == 85.0


def test_the_wavelet_gan_raises_the_noise_level_towards_the_real_lrs() -> None:
    """Real LR: the bicubic downscale of smooth fields plus noise of variance 2e-3; the model
    starts at 6e-5 (at mid grey), and 60 adversarial steps must move it most of the way (in log
    units) without passing the truth."""
    config = load_config("paper", (), [*TINY_DSN, "dsn.arch=physical", "dsn.kernel_size=5", "dsn.content_weight=0"])
    torch.manual_seed(0)
    bundle = build_dsn_networks(config)
    trainer = DSNTrainer(
        bundle.generator, bundle.discriminator, bundle.freq_filter, None,
        torch.optim.Adam(bundle.generator.parameters(), lr=1e-3),
        torch.optim.Adam(bundle.discriminator.parameters(), lr=2e-4),
        config.dsn, config.scale,
    )
    smooth = torch.nn.functional.interpolate(torch.rand(8, 3, 6, 6), size=(32, 32), mode="bicubic").clamp(0, 1)
    real = (bicubic_downscale(smooth[4:], 4) + math.sqrt(2e-3) * torch.randn(4, 3, 8, 8)).clamp(0, 1)

    def variance_at_mid_grey() -> float:
        a, b, _ = bundle.generator.noise_levels()
        return (0.5 * a + b).mean().item()

    before = variance_at_mid_grey()
    for _ in range(60):
        trainer.step(smooth[:4], real, adversarial=True)
    after = variance_at_mid_grey()
    assert before < after < 2e-3
    assert math.log(2e-3 / after) < 0.5 * math.log(2e-3 / before)


def test_train_dsn_and_generate_end_to_end(photo_folders: dict[str, Path], tmp_path: Path) -> None:
    physical = [*TINY_DSN, "dsn.arch=physical", "dsn.kernel_size=5"]
    sets = [arg for item in physical for arg in ("--set", item)]
    run = tmp_path / "dsn"
    argv = ["train-dsn", "--hr", str(photo_folders["hr"]), "--lr", str(photo_folders["lr"]), "--scale", "4",
            "--out", str(run), "--preset", "paper", *sets]
    assert main(argv) == 0
    for out in ("pairs", "pairs_tiled"):
        tile = "8" if out == "pairs_tiled" else "512"
        assert main(["generate", "--dsn", str(run), "--hr", str(photo_folders["hr"]), "--out", str(tmp_path / out),
                     "--device", "cpu", "--tile", tile]) == 0
    images = {
        out: [np.asarray(Image.open(path)) for path in sorted((tmp_path / out / "lr").glob("*.png"))]
        for out in ("pairs", "pairs_tiled")
    }
    assert len(images["pairs"]) == 3 and images["pairs"][0].shape == (18, 20, 3)
    assert all(np.array_equal(x, y) for x, y in zip(images["pairs"], images["pairs_tiled"]))
