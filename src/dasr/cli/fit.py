"""the whole pipeline: train-dsn, generate, train-srn, model.safetensors

Train a super-resolution model for the kind of images in --lr from clean photos in --hr (no pairs
needed). Runs stage 1 (RUN/dsn), stage 1.5 (RUN/pairs) and stage 2 (RUN/srn) and writes
RUN/model.safetensors. Rerunning the same command resumes. Runs on several GPUs under torchrun
(docs/distributed.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.cli.options import (
    add_unpaired_training_options,
    config_from_args,
    read_unpaired_data,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_unpaired_training_options(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="RUN", help="run folder (created or resumed)")


def run(args: argparse.Namespace) -> int:
    from dasr.engine.distributed import is_main_process, process_group
    from dasr.pipeline.fit import FitData, fit

    config = config_from_args(args)
    data = read_unpaired_data(args, FitData)
    with process_group(config.device):
        model = fit(config, data, args.out, preset=args.preset)
        if not is_main_process():
            return 0
    print(f"model: {model}")
    print(f"use it: dasr sr --model {args.out} --input LR_IMAGES --output SR_DIR")
    return 0
