"""``dasr fit`` end to end on tiny networks: stage folders, resume across stages, the model file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from dasr.cli.main import main
from dasr.config.loader import load_config
from dasr.data.folders import list_images
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint
from dasr.inference.model_file import load_model_file, read_model_metadata
from dasr.pipeline import fit as fit_module
from dasr.pipeline.fit import FitData, fit
from tests.conftest import TINY_DSN, TINY_SRN

TINY = list(dict.fromkeys([*TINY_DSN, *TINY_SRN]))


def tiny_config(*extra: str):
    return load_config("paper", (), [*TINY, *extra])


def fit_data(folders: dict[str, Path]) -> FitData:
    return FitData(list_images(folders["hr"], "--hr"), list_images(folders["lr"], "--lr"))


def model_tensors(path: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}


def test_fit_writes_stage_folders_and_a_self_describing_model(photo_folders, tmp_path: Path) -> None:
    model_path = fit(tiny_config(), fit_data(photo_folders), tmp_path / "run", preset="paper", show_progress=False)
    assert model_path == tmp_path / "run" / "model.safetensors"
    for part in ("dsn/checkpoints/last.pth", "pairs/manifest.json", "srn/checkpoints/last.pth"):
        assert (tmp_path / "run" / part).is_file(), part

    metadata = read_model_metadata(model_path)
    assert metadata["scale"] == 4 and metadata["arch"] == "rrdbnet" and metadata["weights"] == "params_ema"
    assert metadata["hyperparameters"]["num_blocks"] == 1 and metadata["hyperparameters"]["growth_channels"] == 4
    assert metadata["training"]["hr_images"] == 3 and metadata["training"]["srn_iterations"] == 6
    assert metadata["preset"] == "paper"

    model, _ = load_model_file(tmp_path / "run")  # a run folder works as well as the file
    ema = load_checkpoint(tmp_path / "run" / "srn" / "checkpoints" / "last.pth")["params_ema"]
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, ema[name])
    with torch.no_grad():
        assert model(torch.rand(1, 3, 8, 12)).shape == (1, 3, 32, 48)


@pytest.mark.parametrize("stage", ["train_dsn", "train_srn"])
def test_rerunning_fit_after_an_interruption_gives_the_same_model(stage, photo_folders, tmp_path, monkeypatch) -> None:
    config, data = tiny_config(), fit_data(photo_folders)
    straight = fit(config, data, tmp_path / "straight", preset="paper", show_progress=False)

    real_stage = getattr(fit_module, stage)

    def killed_after_three_iterations(*args, **kwargs):
        real_stage(*args, **{**kwargs, "stop_after": 3})
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(fit_module, stage, killed_after_three_iterations)
        with pytest.raises(KeyboardInterrupt):
            fit(config, data, tmp_path / "resumed", preset="paper", show_progress=False)
    assert not (tmp_path / "resumed" / "model.safetensors").exists()
    resumed = fit(config, data, tmp_path / "resumed", preset="paper", show_progress=False)

    a, b = model_tensors(straight), model_tensors(resumed)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


def test_bicubic_pairs_skip_stage_one(photo_folders, tmp_path: Path) -> None:
    fit(tiny_config("srn.pairs=bicubic"), fit_data(photo_folders), tmp_path / "run", preset="paper",
        show_progress=False)
    assert not (tmp_path / "run" / "dsn").exists() and not (tmp_path / "run" / "pairs").exists()
    assert read_model_metadata(tmp_path / "run" / "model.safetensors")["training"]["dsn_iterations"] == 0


def test_cli_fit_prints_where_the_model_is(photo_folders, tmp_path: Path, capsys) -> None:
    sets = [x for pair in (("--set", s) for s in TINY) for x in pair]
    code = main(["fit", "--hr", str(photo_folders["hr"]), "--lr", str(photo_folders["lr"]), "--scale", "4",
                 "--out", str(tmp_path / "run"), *sets])
    out = capsys.readouterr().out
    assert code == 0
    assert f"model: {tmp_path / 'run' / 'model.safetensors'}" in out and "dasr sr --model" in out


def test_model_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DasrError, match="holds no model.safetensors"):
        load_model_file(tmp_path)
    (tmp_path / "x.safetensors").write_bytes(b"garbage")
    with pytest.raises(DasrError, match="cannot read model file"):
        load_model_file(tmp_path / "x.safetensors")
