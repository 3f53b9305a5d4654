import pytest
import torch
import torch.nn.functional as F

from dasr.errors import DasrError
from dasr.ops.frequency import (
    FILTER_KINDS,
    GAUSSIAN_SIGMA,
    FrequencyFilter,
    high_frequency,
    low_frequency,
)
from dasr.ops.wavelet import haar_dwt
from tests.helpers import expected_window, receptive_window


def test_gaussian_matches_fssr_kernel():
    # FSSR / released DASR GaussianFilter: exp(-|p - 2|^2 / (2 (5/6)^2)) on a 5x5 grid, normalised.
    assert GAUSSIAN_SIGMA == pytest.approx(0.8333, abs=1e-4)
    grid = torch.arange(5, dtype=torch.float64) - 2
    kernel = torch.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * (5 / 6) ** 2))
    impulse = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    impulse[..., 4, 4] = 1
    blurred = low_frequency(impulse, "gaussian")
    torch.testing.assert_close(blurred[0, 0, 2:7, 2:7], kernel / kernel.sum())


def test_avgpool_is_reflect_padded_box_mean():
    x = torch.rand(1, 2, 7, 8, dtype=torch.float64)
    reference = F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), 5, stride=1)
    torch.testing.assert_close(low_frequency(x, "avgpool"), reference)


@pytest.mark.parametrize("kind", ["gaussian", "avgpool", "rgb"])
def test_same_size_kinds_split_exactly(kind):
    x = torch.rand(2, 3, 9, 10, dtype=torch.float64)
    high, low = high_frequency(x, kind), low_frequency(x, kind)
    assert high.shape == low.shape == x.shape
    torch.testing.assert_close(high + low, x if kind != "rgb" else 2 * x)


def test_wavelet_bands_and_lowpass():
    x = torch.rand(2, 3, 8, 11, dtype=torch.float64)
    _, lh, hl, hh = haar_dwt(x)
    high = high_frequency(x, "wavelet")
    assert high.shape == (2, 9, 4, 6)
    torch.testing.assert_close(high, torch.cat((lh, hl, hh), 1))  # [LH, HL, HH], C channels each
    low = low_frequency(x, "wavelet")  # the 2x2 mean, as the released code's 0.5 * LL
    torch.testing.assert_close(low[..., :5], F.avg_pool2d(x, 2)[..., :5])


@pytest.mark.parametrize("kind", ["wavelet", "gaussian", "avgpool"])
def test_constant_image_has_no_high_frequency(kind):
    x = torch.full((1, 3, 7, 9), 0.3, dtype=torch.float64)
    assert high_frequency(x, kind).abs().max() < 1e-12
    torch.testing.assert_close(low_frequency(x, kind), torch.full_like(low_frequency(x, kind), 0.3))


@pytest.mark.parametrize("kind", FILTER_KINDS)
def test_gradcheck(kind):
    x = torch.rand(1, 2, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: high_frequency(t, kind), (x,))
    assert torch.autograd.gradcheck(lambda t: low_frequency(t, kind), (x,))


@pytest.mark.parametrize("kind", FILTER_KINDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_module_shapes_and_dtypes(kind, dtype):
    filt = FrequencyFilter(kind)
    x = torch.rand(2, 3, 10, 12, dtype=dtype)
    high, low = filt(x), low_frequency(x, kind)
    factor = 2 if kind == "wavelet" else 1
    assert high.shape == (2, filt.out_channels(3), 10 // factor, 12 // factor)
    assert low.shape == (2, 3, 10 // factor, 12 // factor)
    assert high.dtype == low.dtype == dtype


@pytest.mark.parametrize("kind", FILTER_KINDS)
def test_geometry_measured_from_gradients(kind):
    filt = FrequencyFilter(kind)
    index = (4, 3)
    for operator in (filt, lambda t: low_frequency(t, kind)):
        window = receptive_window(operator, torch.rand(1, 3, 16, 16, dtype=torch.float64), index)
        assert window == expected_window(filt.geometry(), index)


def test_bad_arguments():
    for call in (lambda: FrequencyFilter("fft"), lambda: high_frequency(torch.rand(1, 3, 8, 8), "fft")):
        with pytest.raises(DasrError, match="wavelet, gaussian, avgpool, rgb"):
            call()
    with pytest.raises(ValueError, match="at least 3x3"):
        high_frequency(torch.rand(1, 3, 2, 8), "gaussian")
    with pytest.raises(ValueError, match="N, C, H, W"):
        low_frequency(torch.rand(3, 8, 8), "avgpool")
