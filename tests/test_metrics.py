"""PSNR and SSIM against scikit-image, the Y channel against MATLAB's rgb2ycbcr formula."""

import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dasr.metrics import psnr, rgb_to_y, ssim


@pytest.fixture
def pair():
    """Two batches of related images (a smooth image and a noisy copy), float64 in [0, 1]."""
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(2, 3, 6, 7, generator=generator, dtype=torch.float64)
    a = torch.nn.functional.interpolate(base, size=(24, 29), mode="bilinear", align_corners=False)
    b = (a + 0.1 * torch.randn(a.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    return a, b


def _numpy(image):
    return image.permute(1, 2, 0).numpy()


def test_psnr_matches_skimage(pair):
    a, b = pair
    values = psnr(a, b)
    assert values.shape == (2,) and values.dtype == torch.float64
    for i in range(2):
        expected = peak_signal_noise_ratio(_numpy(a[i]), _numpy(b[i]), data_range=1.0)
        assert values[i].item() == pytest.approx(expected, rel=1e-12)


def test_psnr_data_range_and_float32_input(pair):
    a, b = pair
    values = psnr((255 * a).float(), (255 * b).float(), data_range=255.0)
    expected = peak_signal_noise_ratio(_numpy(255 * a[0]), _numpy(255 * b[0]), data_range=255.0)
    assert values[0].item() == pytest.approx(expected, rel=1e-6)


def test_psnr_of_identical_images_is_infinite(pair):
    a, b = pair
    assert torch.all(torch.isinf(psnr(a, a)))
    mixed = psnr(torch.stack([a[0], a[1]]), torch.stack([a[0], b[1]]))
    assert math.isinf(mixed[0].item()) and math.isfinite(mixed[1].item())


def test_crop_border_removes_pixels_on_every_side(pair):
    a, b = pair
    inner = (..., slice(4, -4), slice(4, -4))
    assert torch.allclose(psnr(a, b, crop_border=4), psnr(a[inner], b[inner]))
    assert torch.allclose(ssim(a, b, crop_border=4), ssim(a[inner], b[inner]))


def test_y_channel_is_matlab_bt601(pair):
    a, _ = pair
    expected = rgb2ycbcr(_numpy(a[0]))[..., 0] / 255.0
    assert np.allclose(rgb_to_y(a)[0, 0].numpy(), expected, atol=1e-12)
    white, black = torch.ones(1, 3, 1, 1), torch.zeros(1, 3, 1, 1)
    assert rgb_to_y(white).item() == pytest.approx(235 / 255, abs=1e-4)
    assert rgb_to_y(black).item() == pytest.approx(16 / 255)


def test_y_channel_metrics(pair):
    a, b = pair
    ya, yb = rgb_to_y(a)[0, 0].numpy(), rgb_to_y(b)[0, 0].numpy()
    assert psnr(a, b, y_channel=True)[0].item() == pytest.approx(
        peak_signal_noise_ratio(ya, yb, data_range=1.0), rel=1e-12
    )
    expected = structural_similarity(
        ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
    )
    assert ssim(a, b, y_channel=True)[0].item() == pytest.approx(expected, abs=1e-12)


def test_ssim_matches_skimage(pair):
    a, b = pair
    values = ssim(a, b)
    assert values.shape == (2,) and values.dtype == torch.float64
    for i in range(2):
        expected = structural_similarity(
            _numpy(a[i]),
            _numpy(b[i]),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=-1,
        )
        assert 0.2 < expected < 0.95  # a meaningful comparison, not a trivial 0 or 1
        assert values[i].item() == pytest.approx(expected, abs=1e-12)


def test_ssim_of_identical_images_is_one_and_float32_works(pair):
    a, b = pair
    assert torch.allclose(ssim(a, a), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(ssim(a.float(), b.float()), ssim(a, b), atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: psnr(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17)),
            r"\(1, 3, 16, 16\) and \(1, 3, 16, 17\)",
        ),
        (lambda: ssim(torch.rand(3, 16, 16), torch.rand(3, 16, 16)), "must be \\(N, C, H, W\\)"),
        (lambda: psnr(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), crop_border=8), "crop_border=8"),
        (lambda: ssim(torch.rand(1, 3, 10, 16), torch.rand(1, 3, 10, 16)), "at least 11x11"),
        (lambda: psnr(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16), y_channel=True), "RGB"),
    ],
)
def test_programmer_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
