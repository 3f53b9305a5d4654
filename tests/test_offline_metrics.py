"""The weight-free metrics of the protocol: HaarPSI, MS-SSIM and GMSD against piq called directly
on the quantised, cropped images, and the high-frequency energy against a direct numpy formula."""

from __future__ import annotations

import numpy as np
import piq
import pytest
import torch

from dasr.errors import DasrError
from dasr.metrics.high_frequency import high_frequency_energy
from dasr.metrics.protocol import score_sr
from dasr.metrics.weight_free import MS_SSIM_MIN_SIZE

CROP = 4


def photo_and_sr(size: tuple[int, int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth 'HR' image and a noisy, not 8-bit 'SR' version of it, ``(1, 3, H, W)`` in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, size[0] // 8, size[1] // 8, generator=generator)
    hr = torch.nn.functional.interpolate(coarse, size=size, mode="bicubic", align_corners=False).clamp(0, 1)
    hr = torch.round(hr * 255) / 255
    sr = (hr + 0.04 * torch.randn(hr.shape, generator=generator)).clamp(0, 1)
    return sr, hr


def test_weight_free_scores_equal_piq_on_the_quantised_cropped_images() -> None:
    sr, hr = photo_and_sr((MS_SSIM_MIN_SIZE + 2 * CROP + 3, MS_SSIM_MIN_SIZE + 2 * CROP))
    values, cropped = score_sr(sr, hr, scale=4, crop_border=CROP, labels=("'sr'", "'hr'"))
    assert not cropped
    inner = (..., slice(CROP, -CROP), slice(CROP, -CROP))
    x, y = (torch.round(image * 255)[inner] / 255 for image in (sr, hr))
    expected = {
        "haarpsi": piq.haarpsi(x, y, data_range=1.0).item(),
        "ms_ssim": piq.multi_scale_ssim(x, y, data_range=1.0).item(),
        "gmsd": piq.gmsd(x, y, data_range=1.0).item(),
    }
    assert {name: values[name] for name in expected} == pytest.approx(expected, rel=1e-6)
    assert 0.5 < values["haarpsi"] < 1 and 0.5 < values["ms_ssim"] < 1 and 0 < values["gmsd"] < 0.5
    identical, _ = score_sr(hr, hr, scale=4, crop_border=CROP, labels=("'sr'", "'hr'"))
    assert identical["haarpsi"] == pytest.approx(1) and identical["ms_ssim"] == pytest.approx(1)
    assert identical["gmsd"] == pytest.approx(0, abs=1e-7) and identical["hf"] == identical["hf_hr"]


def test_ms_ssim_is_left_out_below_its_minimum_size() -> None:
    sr, hr = photo_and_sr((MS_SSIM_MIN_SIZE + 2 * CROP - 1, 200))
    values, _ = score_sr(sr, hr, scale=4, crop_border=CROP, labels=("'sr'", "'hr'"))
    assert "ms_ssim" not in values and {"haarpsi", "gmsd", "hf", "hf_hr"} <= set(values)


def test_an_image_too_small_for_haarpsi_names_the_file_and_crop() -> None:
    sr, hr = photo_and_sr((22, 40))
    with pytest.raises(DasrError, match=r"^'sr\.png': HaarPSI needs images of at least 16x16 .*--crop-border 4"):
        score_sr(sr, hr, scale=4, crop_border=CROP, labels=("'sr.png'", "'hr.png'"))


def numpy_hf(image: np.ndarray) -> float:
    """Mean absolute finest Haar detail of an ``(H, W, C)`` image, in 8-bit levels, by the block
    formulas ``(a + b - c - d) / 2``, ``(a - b + c - d) / 2``, ``(a - b - c + d) / 2``."""
    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    a, b = image[0:height:2, 0:width:2], image[0:height:2, 1:width:2]
    c, d = image[1:height:2, 0:width:2], image[1:height:2, 1:width:2]
    bands = [(a + b - c - d) / 2, (a - b + c - d) / 2, (a - b - c + d) / 2]
    return float(np.mean(np.abs(np.stack(bands))) * 255)


@pytest.mark.parametrize("size", [(24, 30), (25, 31)])
def test_high_frequency_energy_is_the_mean_absolute_haar_detail(size) -> None:
    images = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(1))
    values = high_frequency_energy(images)
    assert values.shape == (2,) and values.dtype == torch.float64
    for value, image in zip(values, images, strict=True):
        assert value.item() == pytest.approx(numpy_hf(image.permute(1, 2, 0).double().numpy()), rel=1e-12)


def test_high_frequency_energy_grows_with_noise() -> None:
    _, hr = photo_and_sr((64, 64))
    generator = torch.Generator().manual_seed(2)
    noisy = [(hr + sigma * torch.randn(hr.shape, generator=generator)).clamp(0, 1) for sigma in (0.01, 0.03)]
    smooth, light, heavy = (high_frequency_energy(torch.round(image * 255) / 255).item() for image in (hr, *noisy))
    assert smooth < light < heavy
    assert high_frequency_energy(torch.full((1, 3, 8, 8), 0.5)).item() == 0
