"""Loading RRDB weights in every naming, container and file format they circulate in.

Each case writes our network's weights the way another project would (the inverse renamings are
written out plainly here, independently of the regex tables under test), loads them back and
checks the inferred hyper-parameters and the outputs.
"""

import re

import pytest
import torch
from safetensors.torch import save_file

from dasr.archs import RRDBNet
from dasr.archs.weights import build_rrdbnet_from_state, load_rrdb_state, load_rrdbnet
from dasr.errors import DasrError

# (scale, input_unshuffle): plain x4/x2/x1 and BasicSR's pixel-unshuffled x2/x1.
VARIANTS = [(4, 1), (2, 1), (1, 1), (2, 2), (1, 4)]


class Unsafe:
    """A class that a weights-only load must refuse to construct."""


def small(scale, input_unshuffle=1, seed=0):
    torch.manual_seed(seed)
    return RRDBNet(scale, num_features=8, num_blocks=2, growth_channels=4, input_unshuffle=input_unshuffle)


def to_esrgan(state, num_blocks):
    """BasicSR names -> ESRGAN's ``model.N`` names (upsampling convs at 3, 6, ..., then HR, last)."""
    upsamples = sum(1 for key in state if re.fullmatch(r"conv_up\d\.weight", key))
    layers = {"conv_first": "model.0", "conv_body": f"model.1.sub.{num_blocks}"}
    layers |= {f"conv_up{step}": f"model.{3 * step}" for step in range(1, upsamples + 1)}
    layers |= {"conv_hr": f"model.{3 * upsamples + 2}", "conv_last": f"model.{3 * upsamples + 4}"}
    renamed = {}
    for key, tensor in state.items():
        layer, kind = key.rsplit(".", 1)
        if layer.startswith("body."):
            _, block, rdb, conv = layer.split(".")
            renamed[f"model.1.sub.{block}.RDB{rdb[-1]}.{conv}.0.{kind}"] = tensor
        else:
            renamed[f"{layers[layer]}.{kind}"] = tensor
    return renamed


def to_mmsr(state):
    """BasicSR names -> mmsr's (``RRDB_trunk``, ``trunk_conv``, ``upconvN``, ``HRconv``)."""
    layers = {"conv_body": "trunk_conv", "conv_hr": "HRconv", "conv_up1": "upconv1", "conv_up2": "upconv2"}
    renamed = {}
    for key, tensor in state.items():
        layer, kind = key.rsplit(".", 1)
        if layer.startswith("body."):
            _, block, rdb, conv = layer.split(".")
            renamed[f"RRDB_trunk.{block}.RDB{rdb[-1]}.{conv}.{kind}"] = tensor
        else:
            renamed[f"{layers.get(layer, layer)}.{kind}"] = tensor
    return renamed


def write(tmp_path, naming, state, num_blocks):
    """``state`` saved as ``naming`` describes; returns the path and the container expected."""
    other = small(4, seed=1).state_dict()
    if naming == "raw":
        content, container = state, None
    elif naming == "params":
        content, container = {"params": state, "iter": 7}, "params"
    elif naming == "params_ema":
        content, container = {"params": other, "params_ema": state}, "params_ema"
    elif naming == "ddp_state_dict":
        content, container = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, "state_dict"
    elif naming == "model":
        content, container = {"model": state}, "model"
    elif naming == "esrgan":
        content, container = to_esrgan(state, num_blocks), None
    elif naming == "mmsr":
        content, container = to_mmsr(state), None
    else:
        path = tmp_path / "weights.safetensors"
        save_file(to_esrgan(state, num_blocks), path)
        return path, None
    path = tmp_path / "weights.pth"
    torch.save(content, path)
    return path, container


NAMINGS = {
    "raw": "BasicSR",
    "params": "BasicSR",
    "params_ema": "BasicSR",
    "ddp_state_dict": "BasicSR",
    "model": "BasicSR",
    "esrgan": "ESRGAN",
    "mmsr": "mmsr",
    "safetensors_esrgan": "ESRGAN",
}


@pytest.mark.parametrize("naming", NAMINGS)
@pytest.mark.parametrize("scale, input_unshuffle", VARIANTS)
def test_round_trip(tmp_path, naming, scale, input_unshuffle):
    net = small(scale, input_unshuffle)
    path, container = write(tmp_path, naming, net.state_dict(), net.num_blocks)
    state, info = load_rrdb_state(path)
    assert info == {"naming": NAMINGS[naming], "container": container}
    assert state.keys() == net.state_dict().keys()
    loaded = load_rrdbnet(path)
    assert loaded.hyperparameters() == net.hyperparameters()
    assert (loaded.scale, loaded.num_features, loaded.num_blocks, loaded.growth_channels) == (scale, 8, 2, 4)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), rtol=0, atol=0)


def test_build_from_a_state_dict_in_any_naming():
    net = small(4)
    rebuilt = build_rrdbnet_from_state(to_mmsr(net.state_dict()))
    assert rebuilt.hyperparameters() == net.hyperparameters()
    for key, tensor in net.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], tensor), key


def test_other_channel_counts_are_inferred(tmp_path):
    net = RRDBNet(2, num_features=8, num_blocks=1, growth_channels=4, in_channels=1, out_channels=1)
    torch.save(to_esrgan(net.state_dict(), 1), tmp_path / "gray.pth")
    assert load_rrdbnet(tmp_path / "gray.pth").hyperparameters() == net.hyperparameters()


def test_unknown_naming_is_named(tmp_path):
    torch.save({"generator": {"conv.weight": torch.zeros(1)}, "step": 3}, tmp_path / "other.pth")
    with pytest.raises(DasrError) as error:
        load_rrdbnet(tmp_path / "other.pth")
    message = str(error.value)
    assert "weights file '" in message and "other.pth' holds no RRDBNet weights in a recognised naming" in message
    assert all(name in message for name in ("body.N.rdb1.conv1", "model.1.sub.N.RDB1.conv1.0", "RRDB_trunk"))
    assert "\n" not in message
    save_file({"conv.weight": torch.zeros(1)}, tmp_path / "other.safetensors")
    with pytest.raises(DasrError, match=r"other.safetensors' holds no RRDBNet weights .*found 'conv.weight'"):
        load_rrdb_state(tmp_path / "other.safetensors")


def test_weights_that_do_not_fit_are_named(tmp_path):
    state = small(4).state_dict()
    del state["conv_hr.bias"]
    state["conv_extra.weight"] = torch.zeros(1)
    torch.save({"params": state}, tmp_path / "broken.pth")
    with pytest.raises(
        DasrError,
        match=r"'.*broken.pth' does not fit RRDBNet\(scale=4, .*\): missing 'conv_hr.bias'; "
        r"unexpected 'conv_extra.weight'",
    ):
        load_rrdbnet(tmp_path / "broken.pth")
    del state["conv_first.weight"]
    with pytest.raises(DasrError, match="the RRDB state dict lacks the RRDBNet weight 'conv_first.weight'"):
        build_rrdbnet_from_state(state)


def test_pickles_that_need_code_are_refused(tmp_path):
    torch.save({"params": small(4).state_dict(), "opt": Unsafe()}, tmp_path / "unsafe.pth")
    with pytest.raises(DasrError, match=r"'.*unsafe.pth' was refused for safety: .*Unsafe'"):
        load_rrdbnet(tmp_path / "unsafe.pth")


def test_unreadable_safetensors_files_are_named(tmp_path):
    with pytest.raises(DasrError, match=r"weights file '.*absent.safetensors' does not exist"):
        load_rrdbnet(tmp_path / "absent.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DasrError, match=r"weights file '.*bad.safetensors' is not a readable safetensors file"):
        load_rrdbnet(tmp_path / "bad.safetensors")
