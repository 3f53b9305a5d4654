import pytest
import torch
from torch import nn

from dasr.archs import OfficialDSN, PaperDSN, build_arch, list_archs, register_arch
from dasr.errors import DasrError
from dasr.ops.resize import bicubic_downscale

ARCHS = [PaperDSN, OfficialDSN]
# Scale 1 is also the network of the bicubic-LR input variant (it sees the bicubic downscale).
SCALES = [4, 2, 1]


def small(cls, scale):
    torch.manual_seed(0)
    return cls(scale, num_features=4, num_blocks=2).double().eval()


def tiled(net, image, tile, context):
    """Run ``net`` tile by tile, each tile with ``context`` input pixels of image around it
    (clipped at the image border), and stitch the tiles' own outputs."""
    factor = net.tile_alignment()
    height, width = image.shape[-2:]
    rows = []
    for top in range(0, height, tile):
        row = []
        for left in range(0, width, tile):
            t0, l0 = max(top - context, 0), max(left - context, 0)
            piece = net(image[..., t0 : top + tile + context, l0 : left + tile + context])
            r0, c0 = (top - t0) // factor, (left - l0) // factor
            row.append(piece[..., r0 : r0 + tile // factor, c0 : c0 + tile // factor])
        rows.append(torch.cat(row, -1))
    return torch.cat(rows, -2)


@pytest.mark.parametrize("cls", ARCHS)
@pytest.mark.parametrize("scale", SCALES)
def test_output_shape(cls, scale):
    net = small(cls, scale)
    out = net(torch.rand(2, 3, 16, 24, dtype=torch.float64))
    assert out.shape == (2, 3, 16 // scale, 24 // scale)
    assert net.tile_alignment() == scale


@pytest.mark.parametrize("cls", ARCHS)
@pytest.mark.parametrize("scale", SCALES)
def test_context_makes_tiling_exact_and_is_needed(cls, scale):
    net = small(cls, scale)
    context, alignment = net.context(), net.tile_alignment()
    assert context % alignment == 0 and context < 24
    image = torch.rand(1, 3, 48, 48, dtype=torch.float64)
    with torch.no_grad():
        whole = net(image)
        torch.testing.assert_close(tiled(net, image, 24, context), whole, rtol=0, atol=1e-12)
        short = tiled(net, image, 24, context - alignment)
    assert (short - whole).abs().max() > 1e-6


def test_context_of_default_networks():
    # Paper x4: 47 HR convs (reach 47), bilinear reads pixels 1..2 of each 4-block, two LR convs
    # (2 LR = 8 HR): reach 54 -> 56. Official x4: 17 HR convs, two stride-2 convs, one LR conv:
    # left reach 17 + 1 + 2 + 4 = 24.
    assert PaperDSN(4).context() == 56
    assert OfficialDSN(4).context() == 24


@pytest.mark.parametrize("cls", ARCHS)
@pytest.mark.parametrize("scale", [4, 1])
def test_gradients_reach_every_parameter(cls, scale):
    net = small(cls, scale).train()
    net(torch.rand(2, 3, 16, 16, dtype=torch.float64)).square().mean().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cls", ARCHS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_preserved(cls, dtype):
    net = small(cls, 2).to(dtype)
    assert net(torch.rand(1, 3, 8, 8, dtype=dtype)).dtype == dtype


def test_paper_global_residual_is_the_bicubic_downscale():
    net = small(PaperDSN, 4)
    nn.init.zeros_(net.tail[-1].weight)
    nn.init.zeros_(net.tail[-1].bias)
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(net(x), bicubic_downscale(x, 4))
    bicubic = small(PaperDSN, 1)  # the bicubic-LR input variant's network
    nn.init.zeros_(bicubic.tail[-1].weight)
    nn.init.zeros_(bicubic.tail[-1].bias)
    torch.testing.assert_close(bicubic(x), x)


def test_official_matches_released_de_resnet():
    # Parameter count of the released De_resnet(n_res_blocks=8, scale=4): a pinned architecture.
    assert sum(p.numel() for p in OfficialDSN(4).parameters()) == 668238
    # Released state-dict names, with the blocks' activation renamed prelu -> act.
    keys = set(OfficialDSN(2, num_blocks=1).state_dict())
    released = {
        "block_input.0.weight", "block_input.0.bias", "block_input.1.weight",
        "res_blocks.0.conv1.weight", "res_blocks.0.conv1.bias", "res_blocks.0.prelu.weight",
        "res_blocks.0.conv2.weight", "res_blocks.0.conv2.bias",
        "down_sample.0.weight", "down_sample.0.bias", "down_sample.1.weight",
        "block_output.weight", "block_output.bias",
    }  # fmt: skip
    assert keys == {key.replace(".prelu.", ".act.") for key in released}
    out = small(OfficialDSN, 1)(torch.randn(1, 3, 8, 8, dtype=torch.float64) * 10)
    assert out.min() > 0 and out.max() < 1  # sigmoid output; x1 runs (the released one crashes)


def test_bad_arguments():
    with pytest.raises(DasrError, match="valid scales: 1, 2, 4"):
        PaperDSN(3)
    with pytest.raises(ValueError, match="divisible by 4"):
        small(OfficialDSN, 4)(torch.rand(1, 3, 10, 12, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        small(PaperDSN, 1)(torch.rand(1, 1, 8, 8, dtype=torch.float64))


def test_registry():
    assert {"dsn_paper", "dsn_official", "patch_disc_paper", "patch_disc_official"} <= set(list_archs())
    net = build_arch("dsn_paper", scale=2, num_features=4, num_blocks=1)
    assert isinstance(net, PaperDSN) and net.scale == 2
    assert build_arch("patch_disc_official", in_channels=9, num_features=4).in_channels == 9
    with pytest.raises(DasrError, match="valid names: .*dsn_official, dsn_paper"):
        build_arch("rrdb")
    with pytest.raises(ValueError, match="already registered"):
        register_arch("dsn_paper")(PaperDSN)
