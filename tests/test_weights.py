"""Loading RRDB weights in every naming, container and file format they circulate in.

Each case writes our network's weights the way another project would (the inverse renamings are
written out plainly in ``tests/helpers.py``, independently of the regex tables under test), loads
them back and checks the inferred hyper-parameters and the outputs.
"""

import pytest
import torch
from safetensors.torch import save_file

from dasr.archs import RRDBNet
from dasr.archs.weights import build_rrdbnet_from_state, load_rrdb_state, load_rrdbnet
from dasr.errors import DasrError
from tests.helpers import (
    WEIGHT_NAMINGS,
    Unsafe,
    small_rrdbnet,
    to_esrgan,
    to_mmsr,
    write_weights,
)

# (scale, input_unshuffle): plain x4/x2/x1 and BasicSR's pixel-unshuffled x2/x1.
VARIANTS = [(4, 1), (2, 1), (1, 1), (2, 2), (1, 4)]


@pytest.mark.parametrize("naming", WEIGHT_NAMINGS)
@pytest.mark.parametrize("scale, input_unshuffle", VARIANTS)
def test_round_trip(tmp_path, naming, scale, input_unshuffle):
    net = small_rrdbnet(scale, input_unshuffle)
    path, container = write_weights(tmp_path, naming, net.state_dict(), net.num_blocks)
    state, info = load_rrdb_state(path)
    assert info == {"naming": WEIGHT_NAMINGS[naming], "container": container}
    assert state.keys() == net.state_dict().keys()
    loaded = load_rrdbnet(path)
    assert loaded.hyperparameters() == net.hyperparameters()
    assert (loaded.scale, loaded.num_features, loaded.num_blocks, loaded.growth_channels) == (scale, 8, 2, 4)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), rtol=0, atol=0)


def test_build_from_a_state_dict_in_any_naming():
    net = small_rrdbnet(4)
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
    state = small_rrdbnet(4).state_dict()
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
    torch.save({"params": small_rrdbnet(4).state_dict(), "opt": Unsafe()}, tmp_path / "unsafe.pth")
    with pytest.raises(DasrError, match=r"'.*unsafe.pth' was refused for safety: .*Unsafe'"):
        load_rrdbnet(tmp_path / "unsafe.pth")


def test_unreadable_safetensors_files_are_named(tmp_path):
    with pytest.raises(DasrError, match=r"weights file '.*absent.safetensors' does not exist"):
        load_rrdbnet(tmp_path / "absent.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DasrError, match=r"weights file '.*bad.safetensors' is not a readable safetensors file"):
        load_rrdbnet(tmp_path / "bad.safetensors")
