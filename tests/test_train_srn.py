"""Stage 2 end to end on tiny networks: resume, modes, validation and best.pth, NaN safety, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dasr.archs.rrdbnet import RRDBNet
from dasr.cli.main import main
from dasr.config.loader import load_config
from dasr.data.folders import list_images
from dasr.data.stage2 import Stage2Patches
from dasr.engine.metric_log import read_metric_log
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint
from dasr.losses.perceptual import LPIPSLoss
from dasr.metrics.protocol import quantize_8bit, read_rgb_tensor
from dasr.ops.blended_tiling import upscale_tiled
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.trainer import SRNData, build_dataset, train_srn
from dasr.stage2_srn.validation import SRNValidator
from tests.conftest import TINY_SRN
from tests.helpers import changed_names, logged_values, same_weights


def tiny_config(*extra: str):
    return load_config("paper", (), [*TINY_SRN, *extra])


def val_pairs(folders: dict[str, Path]) -> list[tuple[Path, Path]]:
    return list(zip(list_images(folders["val_hr"], "--val-hr"), list_images(folders["val_lr"], "--val-lr")))


def unsupervised(folders: dict[str, Path], pairs_dir: Path | None, with_val: bool = False) -> SRNData:
    return SRNData(
        hr_paths=list_images(folders["hr"], "--hr"),
        pairs_dir=pairs_dir,
        real_lr_paths=list_images(folders["lr"], "--lr"),
        val_pairs=val_pairs(folders) if with_val else None,
    )


def training_rows(run: Path) -> list[dict]:
    return [row for row in read_metric_log(run / "log.jsonl") if row["phase"] != "val"]


def test_resume_reproduces_an_uninterrupted_run(photo_folders, pairs_dir, tmp_path) -> None:
    config, data = tiny_config(), unsupervised(photo_folders, pairs_dir)
    straight = train_srn(config, data, tmp_path / "straight", show_progress=False)
    train_srn(config, data, tmp_path / "resumed", stop_after=3, show_progress=False)
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pth")["iteration"] == 3
    resumed = train_srn(config, data, tmp_path / "resumed", show_progress=False)

    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["iteration"] == b["iteration"] == 6
    assert {"params", "params_ema", "discriminator"} <= set(a)
    for key in ("params", "params_ema", "discriminator"):
        for name in a[key]:
            torch.testing.assert_close(a[key][name], b[key][name], rtol=1e-5, atol=1e-6)
    rows_a, rows_b = training_rows(tmp_path / "straight"), training_rows(tmp_path / "resumed")
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b] == [1, 2, 3, 4, 5, 6]
    assert [r["phase"] for r in rows_a] == ["pretrain"] * 2 + ["train"] * 4
    for row_a, row_b in zip(rows_a, rows_b):
        assert set(row_a) == set(row_b)
        for name in set(row_a) - {"time", "phase", "step"}:
            assert row_a[name] == pytest.approx(row_b[name], rel=1e-5), name
    assert "adv_g" in rows_a[-1] and "adv_d" in rows_a[-1] and rows_a[-1]["skipped"] == 0


def test_validation_keeps_the_best_checkpoint_and_writes_samples(photo_folders, pairs_dir, tmp_path) -> None:
    run = tmp_path / "run"
    config = tiny_config("srn.ema_decay=0", "train.val_every=2", "srn.lr=0.002")
    data = unsupervised(photo_folders, pairs_dir, with_val=True)
    train_srn(config, data, run, stop_after=3, show_progress=False)  # validates at 2 and 3 (the end)
    train_srn(config, data, run, show_progress=False)  # then at 4 and 6
    val = [row for row in read_metric_log(run / "log.jsonl") if row["phase"] == "val"]
    assert [row["step"] for row in val] == [2, 3, 4, 6]
    assert {"psnr", "ssim"} <= set(val[0]) and 0 < val[0]["psnr"] < 100
    best_row = max(val, key=lambda row: row["psnr"])  # the first of equals
    best = load_checkpoint(run / "checkpoints" / "best.pth")
    assert best["iteration"] == best_row["step"]
    assert best["format"] == "dasr-srn" and "params_ema" in best
    samples = sorted(path.name for path in (run / "samples").iterdir())
    assert "iter_0000003.png" in samples and "iter_0000006.png" in samples
    assert {"val_0000006_v0.png", "val_0000006_v1.png"} <= set(samples)


VALIDATION_METRICS = {"psnr", "ssim", "psnr_y", "ssim_y", "haarpsi", "gmsd", "hf", "hf_hr"}
"""What validation on the fixture's pairs reports without LPIPS (88x120 after the crop: no MS-SSIM)."""


def validated_model() -> RRDBNet:
    torch.manual_seed(0)
    return RRDBNet(4, num_features=8, num_blocks=1, growth_channels=4).eval()


def validate(folders: dict[str, Path], tmp_path: Path, *, lpips: torch.nn.Module | None) -> dict:
    model = validated_model()
    validator = SRNValidator(val_pairs(folders), scale=4, device=torch.device("cpu"), samples_dir=tmp_path, lpips=lpips)
    with pytest.warns(UserWarning, match=r"^validation: MS-SSIM skipped: 2 of 2 images are smaller than 161x161"):
        return validator(model, 1)


def test_validation_reports_what_dasr_eval_reports_for_the_checkpoint(photo_folders, pairs_dir, tmp_path) -> None:
    """best.pth is picked by a PSNR that ``dasr eval --model best.pth`` reproduces on the same pairs."""
    run = tmp_path / "run"
    # Without EMA the network moves off its near-black start within 6 iterations: at the border,
    # where zero and reflect padding differ, SR is then image-like (exact tiling read 0.01 dB off).
    config = tiny_config("srn.ema_decay=0", "srn.lr=0.002")
    train_srn(config, unsupervised(photo_folders, pairs_dir, with_val=True), run, show_progress=False)
    best = load_checkpoint(run / "checkpoints" / "best.pth")["iteration"]
    [validated] = [row for row in read_metric_log(run / "log.jsonl") if row["phase"] == "val" and row["step"] == best]
    assert VALIDATION_METRICS <= set(validated)
    argv = ["eval", "--model", run / "checkpoints" / "best.pth", "--lr", photo_folders["val_lr"],
            "--hr", photo_folders["val_hr"], "--lpips", "off", "--device", "cpu", "--out", tmp_path / "eval"]
    assert main([*map(str, argv), "--no-progress"]) == 0
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())["mean"]
    assert evaluated["psnr"] == pytest.approx(validated["psnr"], abs=1e-3)  # dB
    for name in VALIDATION_METRICS - {"psnr"}:
        assert evaluated[name] == pytest.approx(validated[name], rel=1e-4, abs=1e-6), name


def test_validator_writes_samples(photo_folders, tmp_path) -> None:
    assert set(validate(photo_folders, tmp_path, lpips=None)) == VALIDATION_METRICS
    assert sorted(path.name for path in tmp_path.glob("val_*.png")) == ["val_0000001_v0.png", "val_0000001_v1.png"]


def test_validator_measures_lpips_as_the_lpips_package_does(photo_folders, tmp_path) -> None:
    """Validation's LPIPS is the mean over the pairs of the ``lpips`` package's own distance
    between the 8-bit SR that ``dasr sr`` makes and the HR. The AlexNet trunk is random (its
    ImageNet weights are not downloaded in tests); the package's calibrated linear layers are real."""
    pytest.importorskip("lpips")
    torch.manual_seed(1)
    metric = LPIPSLoss(None)
    scores = validate(photo_folders, tmp_path, lpips=metric)
    assert set(scores) == VALIDATION_METRICS | {"lpips"}
    model, expected = validated_model(), []
    with torch.no_grad():
        for hr_path, lr_path in val_pairs(photo_folders):
            sr = upscale_tiled(model, read_rgb_tensor(lr_path), scale=4, device=torch.device("cpu"))
            hr = read_rgb_tensor(hr_path)
            expected.append(float(metric.lpips(quantize_8bit(sr), quantize_8bit(hr), normalize=True)))
    assert min(expected) > 0 and expected[0] != pytest.approx(expected[1])  # two different values to average
    assert scores["lpips"] == pytest.approx(sum(expected) / len(expected), rel=1e-5)


def test_supervised_mode_trains_on_real_pairs(photo_folders, tmp_path) -> None:
    data = SRNData(
        paired_lr_paths=list_images(photo_folders["val_lr"], "--paired-lr"),
        paired_hr_paths=list_images(photo_folders["val_hr"], "--paired-hr"),
    )
    checkpoint = load_checkpoint(train_srn(tiny_config(), data, tmp_path / "run", show_progress=False))
    assert checkpoint["config"]["srn"]["adversarial"] == "source"  # GAN on the pairs
    assert checkpoint["config"]["srn"]["weighting"] == "none"
    assert "discriminator" in checkpoint
    torch.manual_seed(0)
    initial = build_srn_networks(tiny_config()).generator.state_dict()
    assert any(not torch.equal(initial[name], value) for name, value in checkpoint["params"].items())
    assert training_rows(tmp_path / "run")[-1]["adv_d"] > 0
    with pytest.raises(DasrError, match="srn.pairs=bicubic cannot be combined with --paired-lr"):
        train_srn(tiny_config("srn.pairs=bicubic"), data, tmp_path / "other", show_progress=False)


ADVERSARIAL = {"adv_g", "adv_d"}

TABLE2_SETTINGS = [
    # (setting, other settings of both runs, first iteration it acts in, what it changes there)
    ("srn.pairs=bicubic", (), 1, {"content"}),  # other LR halves of the pairs
    ("srn.weighting=none", (), 1, {"content"}),  # the pixel loss without the maps
    ("scale=2", ("srn.pairs=bicubic",), 1, {"content"}),  # (the fixture's generated pairs are x4)
    ("srn.adversarial=source", (), 2, ADVERSARIAL),  # iteration 1 is pre-training, without a GAN
    ("srn.adversarial=none", (), 2, ADVERSARIAL),
    ("srn.filter=gaussian", (), 2, ADVERSARIAL),
    ("srn.discriminator=official", (), 2, ADVERSARIAL),
    ("srn.disc_norm=instance", (), 2, ADVERSARIAL),
    ("srn.grad_clip=0.001", (), 2, {"content"}),  # the first update was clipped
    ("srn.lr_schedule=linear", ("srn.lr_decay_iters=2",), 1, {"lr"}),  # halved after iteration 1
]


@pytest.mark.parametrize(("setting", "base", "step", "changed"), TABLE2_SETTINGS, ids=[s[0] for s in TABLE2_SETTINGS])
def test_each_table2_setting_changes_the_training(setting, base, step, changed, photo_folders, pairs_dir,
                                                  tmp_path) -> None:
    """From the same seed and batches, each setting of Table 2 changes the losses (or the
    learning rate) logged at the first iteration it acts in, and the trained generator; the
    run's checkpoint loads into the networks of its configuration."""
    data, checkpoints, logged = unsupervised(photo_folders, pairs_dir), {}, {}
    for name, settings in (("base", base), ("variant", (*base, setting))):
        config = tiny_config("srn.pretrain_iters=1", "srn.iters=1", *settings)
        checkpoints[name] = load_checkpoint(train_srn(config, data, tmp_path / name, show_progress=False))
        logged[name] = logged_values(tmp_path / name)
    assert changed <= changed_names(logged["base"][step], logged["variant"][step])
    assert not same_weights(checkpoints["base"]["params"], checkpoints["variant"]["params"])

    checkpoint = checkpoints["variant"]
    assert ("discriminator" in checkpoint) == (config.srn.adversarial != "none")
    generator = build_srn_networks(config).generator
    generator.load_state_dict(checkpoint["params_ema"])
    assert generator(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8 * config.scale, 8 * config.scale)
    if config.srn.pairs == "bicubic":
        assert checkpoint["config"]["srn"]["weighting"] == "none"  # bicubic pairs have no maps


def inject_nan(monkeypatch, iterations: set[int], batch_size: int = 2) -> None:
    """Make the pair LR of the given iterations' samples NaN (iteration i draws batch i - 1)."""
    original = Stage2Patches.__getitem__

    def poisoned(self, index: int):
        sample = original(self, index)
        if index // batch_size + 1 in iterations:
            sample["pair_lr"][0, 0, 0] = float("nan")
        return sample

    monkeypatch.setattr(Stage2Patches, "__getitem__", poisoned)


def test_a_nan_batch_is_skipped(photo_folders, pairs_dir, tmp_path, monkeypatch) -> None:
    inject_nan(monkeypatch, {4})
    with pytest.warns(UserWarning, match="iteration 4: the generator loss is NaN/Inf"):
        checkpoint = train_srn(tiny_config("srn.max_bad_steps=2"), unsupervised(photo_folders, pairs_dir),
                               tmp_path / "run", show_progress=False)
    assert [row["skipped"] for row in training_rows(tmp_path / "run")] == [0, 0, 0, 1, 0, 0]
    state = load_checkpoint(checkpoint)
    assert all(bool(torch.isfinite(t).all()) for key in ("params", "params_ema") for t in state[key].values())


def test_consecutive_nan_batches_stop_without_a_nan_checkpoint(photo_folders, pairs_dir, tmp_path,
                                                               monkeypatch) -> None:
    inject_nan(monkeypatch, {3, 4})
    with pytest.warns(UserWarning, match="iteration 3"), pytest.raises(DasrError, match="2 iterations in a row"):
        train_srn(tiny_config("srn.max_bad_steps=2"), unsupervised(photo_folders, pairs_dir),
                  tmp_path / "run", show_progress=False)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pth")
    assert state["iteration"] == 2
    assert all(bool(torch.isfinite(t).all()) for t in state["params"].values())


def test_init_weights_must_fit(tmp_path) -> None:
    torch.manual_seed(3)
    source = RRDBNet(4, num_features=8, num_blocks=1, growth_channels=4)
    torch.save({"params_ema": source.state_dict()}, tmp_path / "init.pth")
    bundle = build_srn_networks(tiny_config(f"srn.init={tmp_path / 'init.pth'}"))
    assert all(torch.equal(a, b) for a, b in zip(bundle.generator.state_dict().values(), source.state_dict().values()))
    with pytest.raises(DasrError, match=r"srn.init: .* srn.num_features=8 \(not 16\)"):
        build_srn_networks(tiny_config(f"srn.init={tmp_path / 'init.pth'}", "srn.num_features=16"))
    with pytest.raises(DasrError, match="srn.init: .*missing.pth"):
        build_srn_networks(tiny_config(f"srn.init={tmp_path / 'missing.pth'}"))


def run_cli(*argv: object) -> int:
    return main([str(a) for a in argv])


def sets(*extra: str) -> list[str]:
    return [x for setting in (*TINY_SRN, *extra) for x in ("--set", setting)]


def test_cli_trains_and_resumes(photo_folders, pairs_dir, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train-srn", "--pairs", pairs_dir, "--lr", photo_folders["lr"], "--hr", photo_folders["hr"],
            "--scale", 4, "--out", out, "--val-hr", photo_folders["val_hr"], "--val-lr", photo_folders["val_lr"],
            *sets("srn.pretrain_iters=1", "srn.iters=1")]
    assert run_cli(*args) == 0
    printed = capsys.readouterr().out
    assert f"SRN checkpoint: {out / 'checkpoints' / 'last.pth'}" in printed and "best.pth" in printed
    assert run_cli(*args) == 0  # finished: nothing to do
    assert [row["step"] for row in training_rows(out)] == [1, 2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "LR", "--hr", "HR"], "--pairs is required with srn.pairs=generated"),
        (["--pairs", "PAIRS", "--hr", "HR"], "--lr is required with srn.adversarial=target"),
        (["--lr", "LR"], "--hr is required"),
        (["--paired-lr", "LR", "--paired-hr", "HR", "--hr", "HR"], "cannot be combined with --hr"),
        (["--paired-lr", "LR"], "--paired-lr and --paired-hr must be given together"),
        (["--lr", "LR", "--hr", "HR", "--set", "srn.pairs=bicubic", "--val-lr", "LR"],
         "--val-hr and --val-lr must be given together"),
        (["--lr", "LR", "--hr", "HR", "--set", "srn.pairs=bicubic", "--set", "srn.init=NOPE"], "srn.init: "),
    ],
)
def test_cli_user_errors_are_one_line(argv, message, photo_folders, tmp_path, capsys) -> None:
    names = {"LR": photo_folders["lr"], "HR": photo_folders["hr"], "PAIRS": tmp_path, "NOPE": tmp_path / "nope.pth"}
    argv = [str(names[a]) if a in names else a.replace("NOPE", str(names["NOPE"])) for a in argv]
    code = run_cli("train-srn", "--scale", 4, "--out", tmp_path / "run", *sets(), *argv)  # argv's --set last
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("settings", "normalized"),
    [
        (["srn.map_normalization=dataset"], True),
        (["srn.map_normalization=dataset", "srn.weighting=none"], False),  # no maps to normalise
    ],
)
def test_map_normalization_divides_the_maps_by_their_mean(photo_folders, pairs_dir, settings, normalized) -> None:
    """With ``dataset`` every pair weight is the raw map (the paper's default, ``none``) divided
    by the mean of all the training set's maps."""
    data = unsupervised(photo_folders, pairs_dir)
    raw, changed = build_dataset(tiny_config(), data), build_dataset(tiny_config(*settings), data)
    maps = [np.load(f) for f in sorted((pairs_dir / "maps").glob("*.npy"))]
    raw_mean = sum(float(m.sum(dtype=np.float64)) for m in maps) / sum(m.size for m in maps)
    assert raw_mean != pytest.approx(1.0)  # so that the cases differ
    for index in range(4):
        expected = raw[index]["pair_weight"] / (raw_mean if normalized else 1.0)
        torch.testing.assert_close(changed[index]["pair_weight"], expected)


def test_an_unweighted_run_resumes_whatever_the_map_normalization(photo_folders, tmp_path) -> None:
    """Bicubic pairs have no maps: ``srn.map_normalization`` is saved as ``none`` and changing it
    does not block resuming (the demo's baseline shares the DASR run's settings)."""
    data = unsupervised(photo_folders, None)
    train_srn(tiny_config("srn.pairs=bicubic"), data, tmp_path, stop_after=3, show_progress=False)
    changed = tiny_config("srn.pairs=bicubic", "srn.map_normalization=dataset")
    last = train_srn(changed, data, tmp_path, show_progress=False)
    assert load_checkpoint(last)["iteration"] == 6
    assert "map_normalization: none" in (tmp_path / "config.yaml").read_text()
