"""stage 1: train the down-sampling network (DSN)

Train the down-sampling network that turns HR photos into LR images that look like your real LR
images. Rerunning the same command resumes from the last checkpoint. Runs on several GPUs under
torchrun (docs/distributed.md)."""

from __future__ import annotations

import argparse

from dasr.cli.options import (
    add_run_options,
    add_unpaired_training_options,
    config_from_args,
    read_images,
    read_unpaired_data,
    read_unpaired_folders,
    resume_checkpoint,
)
from dasr.errors import DasrError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_unpaired_training_options(parser)
    add_run_options(parser)
    parser.add_argument(
        "--val-unpaired", action="store_true",
        help="--val-hr and --val-lr show different scenes: validate by distribution distances and "
        "discriminator scores only (no PSNR/SSIM)",
    )


def run(args: argparse.Namespace) -> int:
    from dasr.engine.distributed import is_main_process, process_group
    from dasr.stage1_dsn.trainer import DSNData, train_dsn

    config = config_from_args(args)
    if not args.val_unpaired:
        data = read_unpaired_data(args, DSNData)
    else:
        hr_paths, lr_paths = read_unpaired_folders(args)
        if args.val_hr is None or args.val_lr is None:
            raise DasrError("--val-unpaired needs --val-hr and --val-lr")
        unpaired = (read_images(args.val_hr, "--val-hr", args.skip_bad),
                    read_images(args.val_lr, "--val-lr", args.skip_bad))
        data = DSNData(hr_paths, lr_paths, val_unpaired=unpaired)
    with process_group(config.device):
        checkpoint = train_dsn(config, data, args.out, resume_from=resume_checkpoint(args))
        if not is_main_process():
            return 0
    print(f"DSN checkpoint: {checkpoint}")
    print(f"next: dasr generate --dsn {args.out} --hr {args.hr} --out PAIRS_DIR")
    return 0
