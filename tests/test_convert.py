"""``dasr convert``: RRDB weights in every naming become a model file with the same outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dasr.cli.main import main
from dasr.config.loader import config_to_dict, load_config
from dasr.files.checkpoint import SRN_CHECKPOINT
from dasr.inference.model_file import load_model_file, read_model_metadata
from tests.helpers import WEIGHT_NAMINGS, Unsafe, small_rrdbnet, write_weights

# What the summary line must call each naming that ``write_weights`` writes (a naming missing
# here fails its case below with a KeyError).
ORIGINS = {
    "raw": "BasicSR naming, bare state dict",
    "params": "BasicSR naming, container 'params'",
    "params_ema": "BasicSR naming, container 'params_ema'",
    "ddp_state_dict": "BasicSR naming, container 'state_dict'",
    "model": "BasicSR naming, container 'model'",
    "esrgan": "ESRGAN naming, bare state dict",
    "mmsr": "mmsr naming, bare state dict",
    "safetensors_esrgan": "ESRGAN naming, bare state dict",
}


def convert(*argv: str) -> int:
    return main(["convert", *map(str, argv)])


def assert_same_outputs(model_file: Path, network: torch.nn.Module) -> None:
    loaded, _ = load_model_file(model_file)
    assert loaded.hyperparameters() == network.hyperparameters()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), network.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    "naming, scale, input_unshuffle",
    [(naming, 4, 1) for naming in WEIGHT_NAMINGS] + [("params_ema", 2, 2), ("esrgan", 1, 1)],
)
def test_converts_every_naming(tmp_path, capsys, naming, scale, input_unshuffle) -> None:
    network = small_rrdbnet(scale, input_unshuffle)
    path, _ = write_weights(tmp_path, naming, network.state_dict(), network.num_blocks)
    out = tmp_path / "model.safetensors"
    assert convert(path, out) == 0
    printed = capsys.readouterr().out
    assert f"({ORIGINS[naming]}): RRDBNet x{scale}, nf 8, nb 2, gc 4 -> '{out}'" in printed
    assert_same_outputs(out, network)
    metadata = read_model_metadata(out)
    assert metadata["training"]["converted_from"]["source"] == str(path)
    assert metadata["training"]["converted_from"]["naming"] == WEIGHT_NAMINGS[naming]


def test_converts_a_dasr_srn_checkpoint_using_its_ema_weights(tmp_path, capsys) -> None:
    network, other = small_rrdbnet(4, seed=0), small_rrdbnet(4, seed=1)
    config = config_to_dict(load_config("paper"))
    checkpoint = tmp_path / "last.pth"
    torch.save({"format": SRN_CHECKPOINT, "config": config, "iteration": 7,
                "params": other.state_dict(), "params_ema": network.state_dict()}, checkpoint)
    out = tmp_path / "model.safetensors"
    assert convert(checkpoint, out) == 0
    assert "(dasr-srn checkpoint, 'params_ema' at iteration 7): RRDBNet x4" in capsys.readouterr().out
    assert_same_outputs(out, network)
    metadata = read_model_metadata(out)
    assert metadata["weights"] == "params_ema" and metadata["config"] == json.loads(json.dumps(config))


def test_a_model_file_converts_to_itself(tmp_path) -> None:
    network = small_rrdbnet(2)
    path, _ = write_weights(tmp_path, "params_ema", network.state_dict(), network.num_blocks)
    assert convert(path, tmp_path / "a.safetensors") == 0
    assert convert(tmp_path / "a.safetensors", tmp_path / "b.safetensors") == 0
    assert_same_outputs(tmp_path / "b.safetensors", network)
    assert read_model_metadata(tmp_path / "b.safetensors")["training"]["converted_from"]["kind"] == "model file"


def refused(capsys, *argv) -> str:
    """The one-line message of a conversion that must fail with exit status 2."""
    assert convert(*argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("dasr: error: ")
    return error


def test_mistakes_are_refused_in_one_line(tmp_path, capsys) -> None:
    network = small_rrdbnet(4)
    path, _ = write_weights(tmp_path, "params_ema", network.state_dict(), network.num_blocks)
    assert "OUT: '" in refused(capsys, path, tmp_path / "model.pth") and "must end in .safetensors" in refused(
        capsys, path, tmp_path / "model"
    )

    out = tmp_path / "model.safetensors"
    out.write_bytes(b"keep me")
    assert "exists; pass --overwrite" in refused(capsys, path, out)
    assert out.read_bytes() == b"keep me"
    assert convert(path, out, "--overwrite") == 0
    assert_same_outputs(out, network)

    assert "IN: " in refused(capsys, tmp_path / "absent.pth", tmp_path / "x.safetensors")
    torch.save({"params": network.state_dict(), "opt": Unsafe()}, tmp_path / "unsafe.pth")
    assert "refused for safety" in refused(capsys, tmp_path / "unsafe.pth", tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
