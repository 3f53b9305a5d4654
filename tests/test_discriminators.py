import pytest
import torch
from torch import nn

from dasr.archs.discriminators import (
    NORMS,
    OfficialPatchDiscriminator,
    PaperPatchDiscriminator,
    conv_stack_geometry,
)
from dasr.errors import DasrError
from dasr.ops.frequency import FILTER_KINDS, FrequencyFilter
from dasr.ops.receptive_field import Geometry
from tests.helpers import expected_window, receptive_window

DISCRIMINATORS = [PaperPatchDiscriminator, OfficialPatchDiscriminator]


def small(cls, in_channels=3, norm="none", nf=4):
    torch.manual_seed(0)
    return cls(in_channels, num_features=nf, norm=norm)


@pytest.mark.parametrize("cls", DISCRIMINATORS)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("in_channels", [3, 9])
def test_logit_map_has_input_size(cls, norm, in_channels):
    disc = small(cls, in_channels, norm)
    scores = disc(torch.rand(2, in_channels, 20, 24))
    assert scores.shape == (2, 1, 20, 24)


def test_geometries():
    assert small(PaperPatchDiscriminator).geometry() == Geometry(size=23, stride=1, padding=11)
    assert small(OfficialPatchDiscriminator).geometry() == Geometry(size=13, stride=1, padding=6)


@pytest.mark.parametrize("cls, size", [(PaperPatchDiscriminator, 23), (OfficialPatchDiscriminator, 13)])
@pytest.mark.parametrize("norm", NORMS)
def test_receptive_field_measured_from_gradients(cls, size, norm):
    disc = small(cls, norm=norm).eval()
    index = (20, 17)
    window = receptive_window(disc, torch.rand(1, 3, 41, 37), index)
    assert window == expected_window(disc.geometry(), index)
    assert window[0][1] == window[1][1] == size


@pytest.mark.parametrize(
    "cls, kind",
    [(PaperPatchDiscriminator, "wavelet")] + [(OfficialPatchDiscriminator, k) for k in FILTER_KINDS],
)
def test_receptive_field_through_frequency_filter(cls, kind):
    filt = FrequencyFilter(kind)
    disc = small(cls, in_channels=filt.out_channels(3)).eval()
    geometry = filt.geometry().then(disc.geometry())
    index = (20, 19)
    window = receptive_window(lambda x: disc(filt(x)), torch.rand(1, 3, 80, 78), index)
    assert window == expected_window(geometry, index)
    if kind == "wavelet":
        assert geometry.size == (46 if cls is PaperPatchDiscriminator else 26)


@pytest.mark.parametrize("cls", DISCRIMINATORS)
def test_instance_norm_is_local_in_eval_only(cls):
    disc = small(cls, norm="instance")
    with torch.no_grad():  # move affine parameters and running statistics away from identity
        for module in disc.modules():
            if isinstance(module, nn.InstanceNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
        for _ in range(3):
            disc(torch.rand(2, 3, 24, 24))
    image = torch.rand(1, 3, 48, 48)
    geometry = disc.geometry()
    block = slice(16, 32)  # scores whose input windows lie inside the image
    window = slice(16 - geometry.padding, 32 - 1 - geometry.padding + geometry.size)
    crop = image[..., window, window]
    interior = slice(geometry.padding, geometry.padding + 16)

    disc.eval()
    whole, tiled = disc(image)[..., block, block], disc(crop)[..., interior, interior]
    torch.testing.assert_close(tiled, whole, rtol=1e-5, atol=1e-5)

    disc.train()  # per-image statistics: the score depends on the rest of the image
    whole, tiled = disc(image)[..., block, block], disc(crop)[..., interior, interior]
    assert (tiled - whole).abs().max() > 1e-3


def test_official_matches_released_layout_and_train_behaviour():
    # The released DiscriminatorBasic (norm 'Instance'): InstanceNorm without affine or stats.
    torch.manual_seed(1)
    released = nn.Sequential(
        nn.Conv2d(3, 4, 5, padding=2), nn.LeakyReLU(0.2),
        nn.Conv2d(4, 8, 5, padding=2), nn.InstanceNorm2d(8), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 16, 5, padding=2), nn.InstanceNorm2d(16), nn.LeakyReLU(0.2),
        nn.Conv2d(16, 1, kernel_size=1),
    )  # fmt: skip
    ours = small(OfficialPatchDiscriminator, norm="instance")
    result = ours.load_state_dict({f"net.{k}": v for k, v in released.state_dict().items()}, strict=False)
    assert not result.unexpected_keys
    assert all(".3." in key or ".6." in key for key in result.missing_keys)  # only the norms
    x = torch.rand(2, 3, 24, 24)
    torch.testing.assert_close(ours.train()(x), released(x))


@pytest.mark.parametrize("cls", DISCRIMINATORS)
@pytest.mark.parametrize("norm", NORMS)
def test_gradients_reach_every_parameter(cls, norm):
    disc = small(cls, norm=norm).train()
    disc(torch.rand(2, 3, 16, 16)).square().mean().backward()
    for name, parameter in disc.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_preserved(dtype):
    disc = small(PaperPatchDiscriminator, norm="instance").to(dtype).eval()
    assert disc(torch.rand(1, 3, 12, 12, dtype=dtype)).dtype == dtype


def test_bad_arguments():
    with pytest.raises(DasrError, match="none, instance, batch"):
        PaperPatchDiscriminator(3, norm="layer")
    with pytest.raises(ValueError, match=r"\(N, 9, H, W\)"):
        small(OfficialPatchDiscriminator, in_channels=9)(torch.rand(1, 3, 8, 8))


def test_conv_stack_geometry_follows_strides():
    stack = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(1, 1, 3, stride=2, padding=1)
    )
    assert conv_stack_geometry(stack) == Geometry(size=5, stride=2, padding=2)
    index = (5, 4)
    window = receptive_window(stack, torch.rand(1, 1, 20, 20), index)
    assert window == expected_window(conv_stack_geometry(stack), index)
