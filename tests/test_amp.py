"""Training-speed options on the CPU: ``train.amp`` resolution, the autocast and loss-scaling code
paths of the steps, scaler state in checkpoints, ``train.channels_last`` and ``train.compile``.

The CUDA paths themselves (bf16/fp16 on a GPU) need a GPU: docs/distributed.md lists the
commands. Here autocast runs in bf16 on the CPU and loss scaling uses the CPU ``GradScaler``,
which execute the same lines of the steps.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from dasr.config.loader import load_config
from dasr.data.folders import list_images
from dasr.engine.acceleration import uses_channels_last
from dasr.engine.metric_log import read_metric_log
from dasr.engine.precision import Precision, resolve_precision
from dasr.engine.training_loop import Trainable
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint
from dasr.stage2_srn.trainer import SRNData, train_srn
from tests.conftest import TINY_SRN
from tests.helpers import make_dsn_trainer, make_srn_trainer, tiny_dsn_config

CUDA = torch.device("cuda")


def test_speed_keys_default_to_auto_precision_and_plain_networks() -> None:
    train = load_config("paper").train
    assert (train.amp, train.channels_last, train.compile) == ("auto", None, False)
    assert uses_channels_last(train, torch.device("cuda"))
    assert not uses_channels_last(train, torch.device("cpu"))
    forced = load_config("paper", (), ["train.channels_last=false"]).train
    assert not uses_channels_last(forced, torch.device("cuda"))
    # fp32, not "off": YAML (files and --set alike) would read off as the boolean false.
    assert load_config("paper", (), ["train.amp=fp32"]).train.amp == "fp32"
    with pytest.raises(DasrError, match="'auto', 'bf16', 'fp16', 'fp32'"):
        load_config("paper", (), ["train.amp=off"])


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compile_mode_reaches_torch_compile(mode: str, monkeypatch) -> None:
    """``train.compile_mode`` is what ``torch.compile`` gets (reduce-overhead: CUDA graphs);
    without ``train.compile`` nothing is compiled; a mode torch does not know is refused."""
    from dasr.engine.acceleration import prepare_network

    calls = []
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: calls.append(kwargs) or module)
    network = torch.nn.Conv2d(3, 3, 3)
    prepare_network(network, load_config("paper", (), ["train.compile=true", f"train.compile_mode={mode}"]).train)
    prepare_network(network, load_config("paper", (), [f"train.compile_mode={mode}"]).train)
    assert calls == [{"mode": mode}]
    with pytest.raises(DasrError, match="train.compile_mode"):
        load_config("paper", (), ["train.compile_mode=fast"])


@pytest.mark.parametrize("mode", ["auto", "bf16", "fp16", "fp32"])
def test_the_cpu_always_trains_in_float32(mode: str) -> None:
    if mode in ("bf16", "fp16"):
        with pytest.warns(UserWarning, match=f"train.amp={mode} has no effect on the CPU"):
            precision = resolve_precision(mode, torch.device("cpu"))
    else:
        precision = resolve_precision(mode, torch.device("cpu"))
    assert precision == Precision("cpu") and not precision.grad_scaler().is_enabled()


@pytest.mark.parametrize(
    ("mode", "native_bf16", "dtype"),
    [
        ("auto", True, torch.bfloat16),
        ("auto", False, torch.float16),
        ("bf16", True, torch.bfloat16),
        ("fp16", True, torch.float16),
        ("fp32", True, None),
    ],
)
def test_cuda_precision_follows_the_setting_and_the_gpu(mode, native_bf16, dtype, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native_bf16)
    precision = resolve_precision(mode, CUDA)
    assert precision.device_type == "cuda" and precision.dtype == dtype
    assert precision.scale_losses == (dtype == torch.float16)  # loss scaling exactly for fp16


def test_bf16_on_a_gpu_without_it_is_a_one_line_error(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(DasrError, match="^train.amp=bf16 but this GPU does not compute bfloat16"):
        resolve_precision("bf16", CUDA)


def test_autocast_forwards_return_float32() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 3, 3)
    x = torch.rand(1, 3, 8, 8)
    low = Precision("cpu", torch.bfloat16).forward(conv, x)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, Precision().forward(conv, x), rtol=0.05, atol=0.02)


def test_steps_run_under_autocast_with_float32_losses() -> None:
    bf16 = Precision("cpu", torch.bfloat16)
    hr, real_lr = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 8, 8)
    exact = make_dsn_trainer(tiny_dsn_config()).step(hr, real_lr, adversarial=True)
    trainer = make_dsn_trainer(tiny_dsn_config())
    trainer.precision = bf16
    low = trainer.step(hr, real_lr, adversarial=True)
    assert low.keys() == exact.keys()
    for name in exact:
        assert low[name].dtype == torch.float32
        assert float(low[name]) == pytest.approx(float(exact[name]), rel=0.05, abs=1e-3), name

    srn = make_srn_trainer()
    srn.precision = bf16
    batch = {
        "pair_lr": torch.rand(2, 3, 4, 4), "pair_hr": torch.rand(2, 3, 16, 16),
        "pair_weight": torch.rand(2, 1, 4, 4), "real_lr": torch.rand(2, 3, 4, 4), "unpaired_hr": torch.rand(2, 3, 16, 16),
    }
    losses = srn.step(batch, adversarial=True)
    assert all(value.dtype == torch.float32 and bool(torch.isfinite(value)) for value in losses.values())
    assert losses["skipped"] == 0


def srn_batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return {
        "pair_lr": torch.rand(2, 3, 4, 4), "pair_hr": torch.rand(2, 3, 16, 16),
        "pair_weight": torch.rand(2, 1, 4, 4), "real_lr": torch.rand(2, 3, 4, 4), "unpaired_hr": torch.rand(2, 3, 16, 16),
    }


def test_loss_scaling_leaves_the_steps_unchanged() -> None:
    """A power-of-two scale is undone exactly, so scaled steps equal unscaled ones."""
    plain, scaled = make_srn_trainer("srn.grad_clip=0.5"), make_srn_trainer("srn.grad_clip=0.5")
    scaled.scaler_g = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    scaled.scaler_d = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    for _ in range(3):
        batch = srn_batch()
        a, b = plain.step(batch, adversarial=True), scaled.step(batch, adversarial=True)
        assert {name: float(value) for name, value in a.items()} == {name: float(value) for name, value in b.items()}
    assert torch.equal(plain.generator.gain, scaled.generator.gain)
    assert torch.equal(plain.discriminator.weight, scaled.discriminator.weight)


def test_an_overflow_under_loss_scaling_is_the_scalers_skip_not_a_bad_step() -> None:
    for scaling in (False, True):
        trainer = make_srn_trainer("srn.adversarial=none", "srn.max_bad_steps=2")
        trainer.scaler_g = torch.amp.GradScaler("cpu", init_scale=1024.0, enabled=scaling)
        trainer.generator.gain.register_hook(lambda grad: grad * float("inf"))
        before = trainer.generator.gain.detach().clone()
        losses = trainer.step(srn_batch(), adversarial=False)
        if scaling:
            trainer.bad_steps.settle()
            assert losses["skipped"] == 0 and trainer.bad_steps.in_a_row == 0
            assert trainer.scaler_g.get_scale() == 512.0  # skipped and lowered by the scaler
        else:
            with pytest.warns(UserWarning, match="the generator gradient is NaN/Inf"):
                trainer.bad_steps.settle()
            assert losses["skipped"] == 1 and trainer.bad_steps.in_a_row == 1
        assert torch.equal(trainer.generator.gain, before)


def test_scaler_state_is_saved_and_restored() -> None:
    def trainable(scaler: torch.amp.GradScaler) -> Trainable:
        return Trainable(modules={"params": torch.nn.Linear(1, 1)}, optimizers={}, schedulers={},
                         scalers={"generator": scaler})

    saved = torch.amp.GradScaler("cpu", init_scale=8.0)
    saved.scale(torch.tensor(1.0))
    saved.update(new_scale=4.0)
    state = trainable(saved).state_dict()
    restored = torch.amp.GradScaler("cpu")
    trainable(restored).load_state_dict(state)
    assert restored.get_scale() == 4.0
    # A checkpoint saved without loss scaling (or before scalers existed) leaves a scaler fresh.
    fresh = torch.amp.GradScaler("cpu", init_scale=16.0)
    trainable(fresh).load_state_dict(trainable(torch.amp.GradScaler("cpu", enabled=False)).state_dict())
    trainable(fresh).load_state_dict({key: value for key, value in state.items() if key != "scalers"})
    assert fresh.get_scale() == 16.0


def train(folders: dict[str, Path], out: Path, *extra: str) -> Path:
    data = SRNData(hr_paths=list_images(folders["hr"], "--hr"), real_lr_paths=list_images(folders["lr"], "--lr"))
    config = load_config("paper", (), [*TINY_SRN, "srn.pairs=bicubic", *extra])
    return train_srn(config, data, out, show_progress=False)


def assert_same_training(a: Path, b: Path, *, rel: float) -> None:
    rows_a, rows_b = read_metric_log(a / "log.jsonl"), read_metric_log(b / "log.jsonl")
    assert len(rows_a) == len(rows_b) == 6
    for row_a, row_b in zip(rows_a, rows_b):
        for name in set(row_a) - {"time", "phase", "step"}:
            assert row_a[name] == pytest.approx(row_b[name], rel=rel, abs=1e-6), name
    first, second = load_checkpoint(a / "checkpoints" / "last.pth"), load_checkpoint(b / "checkpoints" / "last.pth")
    for name, tensor in first["params"].items():
        torch.testing.assert_close(tensor, second["params"][name], rtol=1e-4, atol=2e-5)


def test_channels_last_trains_like_the_default_layout(photo_folders, tmp_path) -> None:
    train(photo_folders, tmp_path / "default")
    checkpoint = train(photo_folders, tmp_path / "nhwc", "train.channels_last=true")
    assert_same_training(tmp_path / "default", tmp_path / "nhwc", rel=1e-5)
    state = load_checkpoint(checkpoint)
    assert not any(name.startswith(("module.", "_orig_mod.")) for name in state["params"])


@pytest.mark.skipif(
    os.environ.get("DASR_TEST_COMPILE") != "1",
    reason="torch.compile of even the tiny networks takes about a minute on 2 CPU cores; "
    "set DASR_TEST_COMPILE=1 to run this test",
)
def test_compile_trains_like_eager(photo_folders, tmp_path) -> None:
    train(photo_folders, tmp_path / "eager")
    checkpoint = train(photo_folders, tmp_path / "compiled", "train.compile=true")
    assert_same_training(tmp_path / "eager", tmp_path / "compiled", rel=1e-4)
    state = load_checkpoint(checkpoint)
    assert not any(name.startswith(("module.", "_orig_mod.")) for key in ("params", "discriminator")
                   for name in state[key])
