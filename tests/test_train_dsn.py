"""Stage 1 end to end on tiny networks: the step, resume equivalence, logs, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dasr.cli.main import main
from dasr.data.folders import list_images
from dasr.engine.metric_log import read_metric_log
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint
from dasr.stage1_dsn.networks import load_dsn
from dasr.stage1_dsn.trainer import DSNData, train_dsn
from dasr.stage1_dsn.validation import DSNValidationSet, DSNValidator
from tests.conftest import TINY_DSN
from tests.helpers import (
    changed_names,
    logged_values,
    make_dsn_trainer,
    same_weights,
    tiny_dsn_config,
)


def folders_data(folders: dict[str, Path], with_val: bool = False) -> DSNData:
    val = None
    if with_val:
        val = list(zip(list_images(folders["val_hr"], "--val-hr"), list_images(folders["val_lr"], "--val-lr")))
    return DSNData(list_images(folders["hr"], "--hr"), list_images(folders["lr"], "--lr"), val)


def test_generator_step_leaves_discriminator_untouched_and_uses_fresh_activations() -> None:
    trainer = make_dsn_trainer(tiny_dsn_config())
    hr, real_lr = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 8, 8)
    before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    with torch.autograd.set_detect_anomaly(True):
        losses = trainer.step(hr, real_lr, adversarial=False)
    assert set(losses) == {"content", "total_g", "skipped"} and losses["skipped"] == 0
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters()))
    assert all(p.grad is None for p in trainer.discriminator.parameters())

    losses = trainer.step(hr, real_lr, adversarial=True)  # would raise if stale activations were reused
    assert {"adv_g", "adv_d", "p_real", "p_fake"} <= set(losses)
    assert not all(torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters()))


def test_content_pretraining_reduces_content_loss() -> None:
    trainer = make_dsn_trainer(tiny_dsn_config())
    torch.manual_seed(1)
    hr = torch.rand(2, 3, 32, 32)
    first = trainer.step(hr, hr[..., ::4, ::4], adversarial=False)["content"]
    for _ in range(30):
        last = trainer.step(hr, hr[..., ::4, ::4], adversarial=False)["content"]
    assert last < 0.5 * first


def test_resume_reproduces_an_uninterrupted_run(photo_folders: dict[str, Path], tmp_path: Path) -> None:
    config = tiny_dsn_config()
    data = folders_data(photo_folders)
    straight = train_dsn(config, data, tmp_path / "straight", show_progress=False)
    train_dsn(config, data, tmp_path / "resumed", stop_after=4, show_progress=False)
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pth")["iteration"] == 4
    resumed = train_dsn(config, data, tmp_path / "resumed", show_progress=False)

    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["iteration"] == b["iteration"] == 6
    for key in ("params", "discriminator"):
        for name in a[key]:
            torch.testing.assert_close(a[key][name], b[key][name], rtol=1e-5, atol=1e-6)
    rows_a = [r for r in read_metric_log(tmp_path / "straight" / "log.jsonl") if r["phase"] != "val"]
    rows_b = [r for r in read_metric_log(tmp_path / "resumed" / "log.jsonl") if r["phase"] != "val"]
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b] == [1, 2, 3, 4, 5, 6]
    for row_a, row_b in zip(rows_a, rows_b):
        for name in ("content", "total_g"):
            assert row_a[name] == pytest.approx(row_b[name], rel=1e-5)


def test_validation_and_samples_are_written(photo_folders: dict[str, Path], tmp_path: Path) -> None:
    train_dsn(tiny_dsn_config(), folders_data(photo_folders, with_val=True), tmp_path / "run", show_progress=False)
    rows = [r for r in read_metric_log(tmp_path / "run" / "log.jsonl") if r["phase"] == "val"]
    assert [r["step"] for r in rows] == [3, 6]
    assert {"psnr", "ssim", "bicubic_psnr", "bicubic_ssim"} <= set(rows[0])
    assert 0 < rows[0]["psnr"] < 100 and -1 <= rows[0]["ssim"] <= 1
    assert all(0 < rows[0][key] < 0.7 for key in ("jsd_haar", "jsd_residual", "bicubic_jsd_haar"))  # ln 2 bounds
    assert rows[0]["hf"] > 0 and rows[0]["hf_ratio"] == pytest.approx(rows[0]["hf"] / rows[0]["real_hf"])
    scores = {key: value for key, value in rows[0].items() if key.startswith("p_")}
    assert set(scores) == {"p_real", "p_bicubic", "p_blur", "p_noise", "p_generated"}  # no true degradation declared
    assert all(0 < value < 1 for value in scores.values())
    # the last validation measured the last checkpoint's networks, with the discriminator's filter in front
    bundle = load_dsn(tmp_path / "run")
    validator = DSNValidator(DSNValidationSet.from_pairs(folders_data(photo_folders, with_val=True).val_pairs),
                             scale=4, tile=512, device=torch.device("cpu"), degradation=None)
    assert validator(bundle.generator, bundle.discriminator, bundle.freq_filter) == pytest.approx(
        {key: value for key, value in rows[-1].items() if key not in ("step", "phase", "time")}, rel=1e-6
    )
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == [
        "iter_0000003.png", "iter_0000006.png"
    ]
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "num_blocks: 1" in saved


def test_resuming_with_other_settings_is_refused(photo_folders: dict[str, Path], tmp_path: Path) -> None:
    data = folders_data(photo_folders)
    train_dsn(tiny_dsn_config(), data, tmp_path / "run", stop_after=2, show_progress=False)
    with pytest.raises(DasrError, match="dsn.filter"):
        train_dsn(tiny_dsn_config("dsn.filter=rgb"), data, tmp_path / "run", show_progress=False)
    # more iterations is a legitimate change
    train_dsn(tiny_dsn_config("dsn.iters=5"), data, tmp_path / "run", show_progress=False)


ADVERSARIAL = {"adv_g", "adv_d"}

TABLE1_SETTINGS = [
    # (setting, other settings of both runs, first iteration it acts in, what it changes there)
    ("scale=2", (), 1, {"content"}),
    ("scale=1", (), 1, {"content"}),
    ("dsn.arch=official", (), 1, {"content"}),
    ("dsn.input=bicubic", (), 1, {"content"}),
    ("dsn.content_space=lowpass", (), 1, {"content"}),
    ("dsn.discriminator=official", (), 2, ADVERSARIAL),  # iteration 1 is pre-training, without a GAN
    ("dsn.disc_norm=instance", (), 2, ADVERSARIAL),
    ("dsn.filter=avgpool", (), 2, ADVERSARIAL),
    ("dsn.filter=gaussian", (), 2, ADVERSARIAL),
    ("dsn.filter=rgb", (), 2, ADVERSARIAL),
    ("dsn.lr_schedule=linear", ("dsn.lr_decay_iters=2",), 1, {"lr"}),  # halved after iteration 1
]


@pytest.mark.parametrize(("setting", "base", "step", "changed"), TABLE1_SETTINGS, ids=[s[0] for s in TABLE1_SETTINGS])
def test_each_setting_changes_the_training(setting, base, step, changed, photo_folders, tmp_path: Path) -> None:
    """From the same seed and batches, each stage-1 setting changes the losses (or the learning
    rate) logged at the first iteration it acts in, and the trained DSN; the run loads back."""
    data, checkpoints, logged = folders_data(photo_folders), {}, {}
    for name, settings in (("base", base), ("variant", (*base, setting))):
        config = tiny_dsn_config("dsn.pretrain_iters=1", "dsn.iters=1", *settings)
        checkpoints[name] = train_dsn(config, data, tmp_path / name, show_progress=False)
        logged[name] = logged_values(tmp_path / name)
    assert changed <= changed_names(logged["base"][step], logged["variant"][step])
    assert not same_weights(*(load_checkpoint(path)["params"] for path in checkpoints.values()))

    bundle = load_dsn(tmp_path / "variant")
    assert bundle.source == checkpoints["variant"]
    hr = torch.rand(1, 3, 32, 32)
    assert bundle.generator(hr).shape == (1, 3, 32 // config.scale, 32 // config.scale)


def run_cli(*argv: str) -> int:
    return main([str(a) for a in argv])


def test_cli_trains_and_resumes(photo_folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    sets = [x for pair in (("--set", s) for s in TINY_DSN) for x in pair]
    args = ["train-dsn", "--hr", photo_folders["hr"], "--lr", photo_folders["lr"], "--scale", 4, "--out", out, *sets]
    assert run_cli(*args) == 0
    assert "next: dasr generate --dsn" in capsys.readouterr().out
    assert run_cli(*args) == 0  # finished run: nothing to do, same checkpoint
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "dsn.iter=3"], "unknown config key 'dsn.iter'"),
        (["--set", "dsn.iters=abc"], "'dsn.iters' must be an int"),
        (["--preset", "nope"], "nope"),
        (["--val-hr", "VALHR"], "--val-hr and --val-lr must be given together"),
        (["--val-unpaired", "--val-hr", "VALHR"], "--val-unpaired needs --val-hr and --val-lr"),
        (["--val-hr", "VALHR", "--val-lr", "VALLR", "--set", "dsn.val_degradation=nope"],
         "dsn.val_degradation: 'nope'"),
    ],
)
def test_cli_user_errors_are_one_line(extra, message, photo_folders, tmp_path, capsys) -> None:
    folders = {"VALHR": str(photo_folders["val_hr"]), "VALLR": str(photo_folders["val_lr"])}
    extra = [folders.get(e, e) for e in extra]
    code = run_cli("train-dsn", "--hr", photo_folders["hr"], "--lr", photo_folders["lr"], "--scale", 4,
                   "--out", tmp_path / "run", *extra)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_missing_folder_names_the_option(tmp_path: Path, capsys) -> None:
    code = run_cli("train-dsn", "--hr", tmp_path / "missing", "--lr", tmp_path, "--scale", 4, "--out", tmp_path / "r")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--hr" in err and "missing" in err and len(err.splitlines()) == 1


def test_validation_pairs_are_matched_by_name(photo_folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    (photo_folders["val_lr"] / "v1.png").rename(photo_folders["val_lr"] / "other.png")
    code = run_cli("train-dsn", "--hr", photo_folders["hr"], "--lr", photo_folders["lr"], "--scale", 4,
                   "--out", tmp_path / "run", "--val-hr", photo_folders["val_hr"], "--val-lr", photo_folders["val_lr"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "v1" in err and len(err.splitlines()) == 1


def test_unpaired_validation_with_a_declared_degradation(photo_folders, tmp_path: Path, capsys) -> None:
    (photo_folders["val_lr"] / "v1.png").rename(photo_folders["val_lr"] / "other.png")  # other scenes
    sets = [x for pair in (("--set", s) for s in (*TINY_DSN, "dsn.val_degradation=phone-camera")) for x in pair]
    code = run_cli("train-dsn", "--hr", photo_folders["hr"], "--lr", photo_folders["lr"], "--scale", 4,
                   "--out", tmp_path / "run", "--val-hr", photo_folders["val_hr"], "--val-lr", photo_folders["lr"],
                   "--val-unpaired", *sets)
    assert code == 0
    rows = [r for r in read_metric_log(tmp_path / "run" / "log.jsonl") if r["phase"] == "val"]
    assert [r["step"] for r in rows] == [3, 6] and "psnr" not in rows[0]
    assert 0 < rows[0]["true_jsd_haar"] < 0.7 and 0 < rows[0]["p_true"] < 1 and rows[0]["true_hf_ratio"] > 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("val ")]
    assert len(printed) == 2 and "JSD haar" in printed[0] and "true" in printed[0]


def test_warnings_are_one_line(photo_folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    (photo_folders["hr"] / "broken.png").write_bytes(b"not an image")
    sets = [x for pair in (("--set", s) for s in TINY_DSN) for x in pair]
    code = run_cli("train-dsn", "--hr", photo_folders["hr"], "--lr", photo_folders["lr"], "--scale", 4,
                   "--out", tmp_path / "run", "--skip-bad", *sets, "--set", "dsn.iters=0", "--set", "dsn.pretrain_iters=1")
    err = capsys.readouterr().err
    assert code == 0
    warning_lines = [line for line in err.splitlines() if "broken.png" in line]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("dasr: warning:")
