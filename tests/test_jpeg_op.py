"""The differentiable JPEG round trip against Pillow's codec, and its gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dasr.degradations.jpeg import jpeg_roundtrip as pillow_jpeg
from dasr.ops.jpeg import jpeg_roundtrip, quality_scale


def photo(seed: int = 0, size: tuple[int, int] = (40, 56)) -> torch.Tensor:
    """Smooth colour field with edges and noise: blocks, ringing and chroma loss all show."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, size[0] // 8, size[1] // 8, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=size, mode="bicubic", align_corners=False)
    edges = torch.nn.functional.interpolate(coarse, size=size, mode="nearest")
    noise = 0.03 * torch.randn(1, 3, *size, generator=generator)
    return torch.round((0.5 * smooth + 0.5 * edges + noise).clamp(0, 1) * 255) / 255


@pytest.mark.parametrize("quality", [30, 70, 90])
def test_close_to_pillow(quality: int) -> None:
    image = photo()
    reference = pillow_jpeg(image[0].permute(1, 2, 0).numpy(), quality, "4:2:0")
    ours = jpeg_roundtrip(image, torch.tensor(float(quality)))[0].permute(1, 2, 0).numpy()
    codec_error = np.sqrt(np.mean((image[0].permute(1, 2, 0).numpy() - reference) ** 2))
    assert np.sqrt(np.mean((ours - reference) ** 2)) < 0.35 * codec_error
    assert np.array_equal(ours, np.round(ours * 255) / 255)


def test_quality_scale_is_libjpegs() -> None:
    assert quality_scale(torch.tensor([10.0, 50.0, 75.0, 100.0])).tolist() == pytest.approx([5.0, 1.0, 0.5, 0.0])


def test_gradients_reach_the_quality_and_the_pixels() -> None:
    image = photo().requires_grad_(True)
    quality = torch.tensor(60.0, requires_grad=True)
    weights = torch.randn(image.shape, generator=torch.Generator().manual_seed(1))
    (jpeg_roundtrip(image, quality, phase=(3, 5)) * weights).sum().backward()
    assert quality.grad is not None and quality.grad.abs() > 0
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_the_grid_phase_moves_the_blocks() -> None:
    image = photo(size=(32, 32))
    quality = torch.tensor(40.0)
    aligned = jpeg_roundtrip(image, quality)
    assert aligned.shape == image.shape
    assert not torch.equal(aligned, jpeg_roundtrip(image, quality, phase=(4, 0)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_quality_gradient_has_the_sign_of_the_measured_change(seed: int) -> None:
    """On a noisy smooth image, a lower quality smooths the noise away: less high-frequency
    energy. Straight-through rounding alone gets this sign wrong (module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 8, 8, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(64, 64), mode="bicubic", align_corners=False)
    image = torch.round((smooth + 0.04 * torch.randn(1, 3, 64, 64, generator=generator)).clamp(0, 1) * 255) / 255

    def energy(quality: torch.Tensor) -> torch.Tensor:
        decoded = jpeg_roundtrip(image, quality)
        return (decoded[..., 1:, :] - decoded[..., :-1, :]).abs().mean()

    quality = torch.tensor(85.0, requires_grad=True)
    energy(quality).backward()
    measured = energy(torch.tensor(90.0)) - energy(torch.tensor(80.0))
    assert measured > 0 and quality.grad > 0
