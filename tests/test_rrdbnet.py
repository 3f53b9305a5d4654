"""RRDBNet: BasicSR's names and sizes, plain and pixel-unshuffled scales, exact tiling."""

import pytest
import torch
from torch import nn

from dasr.archs import RRDBNet, build_arch
from dasr.errors import DasrError
from dasr.ops.tiling import apply_tiled

# (scale, input_unshuffle): plain x4/x2/x1, and BasicSR's unshuffled x2/x1 (Real-ESRGAN x2plus).
VARIANTS = [(4, 1), (2, 1), (1, 1), (2, 2), (1, 4)]


def small(scale, input_unshuffle=1):
    """A tiny network with weights of order 1: ESRGAN's 0.1-scaled initialisation and the 0.2
    residual scaling would make the edge of the receptive field invisible in a tiling test."""
    torch.manual_seed(0)
    net = RRDBNet(scale, num_features=4, num_blocks=1, growth_channels=2, input_unshuffle=input_unshuffle)
    for parameter in net.parameters():
        nn.init.normal_(parameter, std=0.3)
    return net.double().eval()


def basicsr_pixel_unshuffle(x, factor):
    """BasicSR's ``pixel_unshuffle`` (basicsr/archs/arch_util.py), written out."""
    n, c, h, w = x.shape
    x = x.view(n, c, h // factor, factor, w // factor, factor)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(n, c * factor * factor, h // factor, w // factor)


@pytest.mark.parametrize("scale, input_unshuffle", VARIANTS)
def test_output_shape(scale, input_unshuffle):
    net = small(scale, input_unshuffle)
    out = net(torch.rand(2, 3, 16, 24, dtype=torch.float64))
    assert out.shape == (2, 3, 16 * scale, 24 * scale)
    assert net.tile_alignment() == input_unshuffle


def test_default_size_and_attributes():
    net = build_arch("rrdbnet", scale=4)
    assert isinstance(net, RRDBNet)
    assert sum(p.numel() for p in net.parameters()) == 16_697_987  # ESRGAN's 16.7M
    assert (net.scale, net.num_features, net.num_blocks, net.growth_channels) == (4, 64, 23, 32)
    assert net.tile_alignment() == 1
    # 1 + 23 RRDBs x 15 + 1 trunk convolutions; the upsampler (two convs at 2x and two at 4x
    # resolution) reaches 2 more LR pixels.
    assert net.context() == 349


@pytest.mark.parametrize(
    "scale, input_unshuffle, upsampling",
    [(4, 1, ["conv_up1", "conv_up2"]), (2, 1, ["conv_up1"]), (1, 1, []), (2, 2, ["conv_up1", "conv_up2"])],
)
def test_basicsr_module_names(scale, input_unshuffle, upsampling):
    names = {key.rsplit(".", 1)[0] for key in small(scale, input_unshuffle).state_dict()}
    rdb = {f"body.0.rdb{block}.conv{conv}" for block in (1, 2, 3) for conv in range(1, 6)}
    assert names == {"conv_first", "conv_body", "conv_hr", "conv_last", *upsampling} | rdb


def test_hyperparameters_rebuild_the_network():
    net = RRDBNet(2, num_features=8, num_blocks=2, growth_channels=4, in_channels=1, out_channels=3, input_unshuffle=2)
    rebuilt = build_arch("rrdbnet", **net.hyperparameters())
    shapes = {key: tensor.shape for key, tensor in net.state_dict().items()}
    assert {key: tensor.shape for key, tensor in rebuilt.state_dict().items()} == shapes
    assert net.conv_first.in_channels == 4


@pytest.mark.parametrize("scale, factor", [(2, 2), (1, 4)])
def test_unshuffled_input_is_basicsr_forward(scale, factor):
    """BasicSR's x2/x1 network = its x4 network on the pixel-unshuffled input."""
    net = small(scale, factor)
    x4 = RRDBNet(4, num_features=4, num_blocks=1, growth_channels=2, in_channels=3 * factor**2).double()
    x4.load_state_dict(net.state_dict())
    x = torch.rand(1, 3, 8, 12, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), x4(basicsr_pixel_unshuffle(x, factor)), rtol=0, atol=0)


@pytest.mark.parametrize("scale, input_unshuffle", VARIANTS)
def test_context_makes_tiling_exact_and_is_needed(scale, input_unshuffle):
    net = small(scale, input_unshuffle)
    context, alignment = net.context(), net.tile_alignment()
    assert context % alignment == 0

    def tiled(margin):
        return apply_tiled(net, image, tile=context, context=margin, alignment=alignment, scale_out=scale)

    # 3 x 2 tiles: each tile's context reaches into its neighbours and is clipped nowhere inside.
    image = torch.rand(1, 3, 3 * context, 2 * context, dtype=torch.float64)
    with torch.no_grad():
        whole = net(image)
        torch.testing.assert_close(tiled(context), whole, rtol=0, atol=1e-12)
        # The deepest path is damped by four 0.2 residual scalings: small, but far above rounding.
        assert (tiled(context - alignment) - whole).abs().max() > 1e-9


def test_wrong_inputs():
    with pytest.raises(DasrError, match="unsupported RRDBNet scale 3; valid scales: 1, 2, 4, 8"):
        RRDBNet(3)
    with pytest.raises(DasrError, match="unsupported RRDBNet input_unshuffle 3"):
        RRDBNet(2, input_unshuffle=3)
    with pytest.raises(ValueError, match="must be divisible by 2"):
        small(2, 2)(torch.rand(1, 3, 7, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expects \(N, 3, H, W\)"):
        small(4)(torch.rand(1, 1, 8, 8, dtype=torch.float64))
