"""``dasr fit``: the whole method from two folders to a model file."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.cli.options import (
    add_config_options,
    add_scale_option,
    add_skip_bad_option,
    add_unpaired_folder_options,
    add_validation_options,
    config_from_args,
    read_unpaired_folders,
    read_validation_pairs,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="the whole pipeline: train-dsn, generate, train-srn, model.safetensors",
        description="Train a super-resolution model for the kind of images in --lr from clean photos "
        "in --hr (no pairs needed). Runs stage 1 (RUN/dsn), stage 1.5 (RUN/pairs) and stage 2 "
        "(RUN/srn) and writes RUN/model.safetensors. Rerunning the same command resumes. "
        "Runs on several GPUs under torchrun (docs/distributed.md).",
    )
    add_unpaired_folder_options(parser)
    add_scale_option(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="RUN", help="run folder (created or resumed)")
    add_config_options(parser)
    add_validation_options(parser)
    add_skip_bad_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dasr.engine.distributed import is_main_process, process_group
    from dasr.pipeline.fit import FitData, fit

    config = config_from_args(args)
    hr_paths, lr_paths = read_unpaired_folders(args)
    data = FitData(hr_paths=hr_paths, lr_paths=lr_paths, val_pairs=read_validation_pairs(args))
    with process_group(config.device):
        model = fit(config, data, args.out, preset=args.preset)
        if not is_main_process():
            return 0
    print(f"model: {model}")
    print(f"use it: dasr sr --model {args.out} --input LR_IMAGES --output SR_DIR")
    return 0
