"""stage 2: train the SR network (SRN)

Train the super-resolution network on the pairs 'dasr generate' made, with the real LR images as the
target domain (the paper), or on bicubic pairs (--set srn.pairs=bicubic), or supervised on real
aligned pairs (--paired-lr/--paired-hr). Rerunning the same command resumes from the last checkpoint.
Runs on several GPUs under torchrun (docs/distributed.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dasr.cli.options import (
    add_run_options,
    add_training_options,
    config_from_args,
    read_images,
    read_validation_pairs,
    resume_checkpoint,
)
from dasr.config.schema import SRNConfig
from dasr.errors import DasrError

if TYPE_CHECKING:
    from dasr.stage2_srn.trainer import SRNData


def add_arguments(parser: argparse.ArgumentParser) -> None:
    unsupervised = parser.add_argument_group("unsupervised training (the paper)")
    unsupervised.add_argument(
        "--pairs", type=Path, metavar="PAIRS_DIR",
        help="folder written by 'dasr generate' (needed with srn.pairs=generated, the default)",
    )
    unsupervised.add_argument(
        "--lr", type=Path, metavar="REAL_LR_DIR",
        help="folder of real low-resolution images (needed with srn.adversarial=target, the default)",
    )
    unsupervised.add_argument(
        "--hr", type=Path, metavar="HR_DIR", help="folder of the HR photos the pairs were made from"
    )
    supervised = parser.add_argument_group(
        "supervised training on real aligned pairs (no weighting, adversarial loss on the pairs)"
    )
    supervised.add_argument("--paired-lr", type=Path, metavar="DIR", help="real LR images, paired by file name")
    supervised.add_argument("--paired-hr", type=Path, metavar="DIR", help="their HR images")
    add_training_options(parser)
    add_run_options(parser)
    parser.add_argument(
        "--init", metavar="WEIGHTS",
        help="weights the SR network starts from, short for --set srn.init=WEIGHTS: none, "
        "builtin:rrdb-small-x4 (or -x2; builtin:rrdb-small picks the scale), a public model "
        "(RealESRNet_x4plus, RRDB_PSNR_x4, ...) or a file",
    )


def read_data(args: argparse.Namespace, srn: SRNConfig) -> SRNData:
    """The image lists of the chosen mode, after checking the options fit together."""
    from dasr.stage2_srn.trainer import SRNData, check_unsupervised_inputs

    unsupervised = {"--pairs": args.pairs, "--lr": args.lr, "--hr": args.hr}
    if args.paired_lr is not None or args.paired_hr is not None:
        mixed = [option for option, value in unsupervised.items() if value is not None]
        if mixed:
            raise DasrError(
                f"--paired-lr/--paired-hr (supervised training) cannot be combined with {', '.join(mixed)}"
            )
        if args.paired_lr is None or args.paired_hr is None:
            raise DasrError("--paired-lr and --paired-hr must be given together")
        return SRNData(
            paired_lr_paths=read_images(args.paired_lr, "--paired-lr", args.skip_bad),
            paired_hr_paths=read_images(args.paired_hr, "--paired-hr", args.skip_bad),
            val_pairs=read_validation_pairs(args),
        )
    check_unsupervised_inputs(
        srn, has_hr=args.hr is not None, has_pairs=args.pairs is not None, has_real_lr=args.lr is not None
    )
    return SRNData(
        hr_paths=read_images(args.hr, "--hr", args.skip_bad),
        pairs_dir=args.pairs,
        real_lr_paths=None if args.lr is None else read_images(args.lr, "--lr", args.skip_bad),
        val_pairs=read_validation_pairs(args),
    )


def run(args: argparse.Namespace) -> int:
    from dasr.engine.distributed import is_main_process, process_group
    from dasr.engine.run_dir import RunDir
    from dasr.stage2_srn.trainer import train_srn

    config = config_from_args(args)
    data = read_data(args, config.srn)
    with process_group(config.device):
        checkpoint = train_srn(config, data, args.out, resume_from=resume_checkpoint(args))
        if not is_main_process():
            return 0
    print(f"SRN checkpoint: {checkpoint}")
    best = RunDir(args.out, create=False).best_checkpoint
    if best.is_file():
        print(f"best validated checkpoint: {best}")
    return 0
