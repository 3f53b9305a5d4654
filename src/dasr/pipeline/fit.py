"""``fit``: train-dsn -> generate -> train-srn -> ``model.safetensors``, in one run folder.

Each stage keeps its own sub-folder and resumes by itself (a finished stage returns at once,
generation skips finished images), so rerunning ``fit`` after an interruption continues in the
stage it was in. With ``srn.pairs=bicubic`` stage 1 and 1.5 are skipped.

    RUN/
      dsn/                 stage-1 run folder (dasr train-dsn)
      pairs/               stage-1.5 output (dasr generate)
      srn/                 stage-2 run folder (dasr train-srn)
      model.safetensors    the final model (EMA weights), see dasr.inference.model_file

Under ``torchrun`` both training stages run on every process; stage 1.5 and the model file are
written by process 0 alone while the others wait (generation is a small part of the run, and
one writer keeps the folder's manifest simple). ``RUN`` must be on a file system every process
sees, since stage 2 reads the pairs process 0 wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dasr.config.schema import Config
from dasr.data.pairs import by_stem
from dasr.engine.distributed import barrier, is_main_process, training_device
from dasr.inference.loading import load_sr_network
from dasr.inference.model_file import MODEL_FILE_NAME, save_model
from dasr.stage1_5_maps.generate import generate_pairs
from dasr.stage1_dsn.networks import load_dsn
from dasr.stage1_dsn.trainer import DSNData, train_dsn
from dasr.stage2_srn.trainer import SRNData, train_srn


@dataclass
class FitData:
    hr_paths: list[Path]
    lr_paths: list[Path]
    val_pairs: list[tuple[Path, Path]] | None = None


def fit(config: Config, data: FitData, out: Path, *, preset: str, show_progress: bool = True) -> Path:
    """Run (or resume) the whole pipeline; returns the path of the model file."""
    out = Path(out)
    pairs_dir = (
        make_generated_pairs(config, data, out, show_progress=show_progress)
        if config.srn.pairs == "generated"
        else None
    )
    srn_checkpoint = train_srn(
        config,
        SRNData(hr_paths=data.hr_paths, pairs_dir=pairs_dir, real_lr_paths=data.lr_paths, val_pairs=data.val_pairs),
        out / "srn",
        show_progress=show_progress,
    )
    model = out / MODEL_FILE_NAME
    if is_main_process():
        export_model(srn_checkpoint, model, preset=preset, data=data)
    barrier()
    return model


SAME_STEM = ("HR images '{first}' and '{second}' have one stem, '{key}': stage 2 pairs each generated LR with "
             "its HR by stem; rename one")


def make_generated_pairs(config: Config, data: FitData, out: Path, *, show_progress: bool = True) -> Path:
    """Stage 1 in ``out/dsn`` and stage 1.5 into ``out/pairs`` (both resume by themselves);
    returns the pairs folder. Shared by ``fit`` and the Table 2 ablation, whose SRN variants
    all train on one set of generated pairs. Two HR images with one stem are refused before
    any training: stage 2 finds each generated LR's HR by stem."""
    by_stem(data.hr_paths, "--hr", clash=SAME_STEM)
    train_dsn(config, DSNData(data.hr_paths, data.lr_paths, data.val_pairs), out / "dsn", show_progress=show_progress)
    pairs_dir = out / "pairs"
    if is_main_process():
        generate_pairs(
            load_dsn(out / "dsn"),
            data.hr_paths,
            pairs_dir,
            scale=config.scale,
            tile=config.generate.tile,
            device=training_device(config.device),
            progress=show_progress,
        )
    barrier()
    return pairs_dir


def export_model(srn_checkpoint: Path, path: Path, *, preset: str, data: FitData) -> None:
    """The EMA generator of a stage-2 checkpoint as the documented model file."""
    generator, info = load_sr_network(srn_checkpoint)
    config = info["config"]
    save_model(
        path,
        generator,
        weights="params_ema",
        preset=preset,
        config=config,
        training={
            "hr_images": len(data.hr_paths),
            "real_lr_images": len(data.lr_paths),
            "hr_folder": str(data.hr_paths[0].parent),
            "real_lr_folder": str(data.lr_paths[0].parent),
            "validation_pairs": len(data.val_pairs or []),
            "pairs": config["srn"]["pairs"],
            "adversarial": config["srn"]["adversarial"],
            "weighting": config["srn"]["weighting"],
            "srn_iterations": info["iteration"],
            "dsn_iterations": config["dsn"]["pretrain_iters"] + config["dsn"]["iters"]
            if config["srn"]["pairs"] == "generated" else 0,
        },
    )
