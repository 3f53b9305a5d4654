"""stage 1.5: generated LR images and domain-distance maps

Run the trained DSN on every HR image and write the generated LR image, its domain-distance map
(.npy) and a heatmap picture of the map. Rerunning the same command skips the images already done."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dasr.cli.options import add_skip_bad_option
from dasr.errors import DasrError
from dasr.ops.filter_kinds import FILTER_KINDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        type=Path,
        required=True,
        metavar="RUN_OR_CHECKPOINT",
        help="'dasr train-dsn' run folder (uses its last checkpoint), a checkpoint file, or a released DASR/FSSR "
        "DSN checkpoint (.tar with model_g_state_dict and models_d_state_dict)",
    )
    parser.add_argument(
        "--hr", type=Path, required=True, metavar="HR_DIR", help="folder of clean high-resolution photos"
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PAIRS_DIR",
        help="output folder: lr/, maps/, heatmaps/, manifest.json",
    )
    parser.add_argument(
        "--tile",
        type=int,
        metavar="N",
        help="HR tile size in pixels; bounds memory, does not change results (default: the DSN run's generate.tile)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument(
        "--scale",
        type=int,
        choices=(4, 2, 1),
        help="HR -> LR factor, for a released DSGAN checkpoint (which does not record it); others are checked "
        "against it",
    )
    parser.add_argument(
        "--filter",
        choices=FILTER_KINDS,
        help="the discriminator's filter, for a released checkpoint that does not record it (avg_pool: avgpool, "
        "--no_highpass: rgb); others are checked against it",
    )
    add_skip_bad_option(parser)


def run(args: argparse.Namespace) -> int:
    from dasr.data.folders import check_images, list_images
    from dasr.engine.device import select_device
    from dasr.stage1_5_maps.generate import generate_pairs
    from dasr.stage1_dsn.networks import load_dsn

    bundle = load_dsn(args.dsn, scale=args.scale, filter_kind=args.filter)
    hr_paths = check_images(list_images(args.hr, "--hr"), "--hr", args.skip_bad)
    if not args.skip_bad:
        _refuse_too_small(hr_paths, bundle.config.scale)
    device = select_device(args.device, "--device")
    summary = generate_pairs(
        bundle,
        hr_paths,
        args.out,
        scale=bundle.config.scale,
        tile=args.tile if args.tile is not None else bundle.config.generate.tile,
        device=device,
    )
    if summary.calibrated_from:
        print(
            f"released discriminator: InstanceNorm statistics fixed from {summary.calibrated_from} generated LR "
            "crops instead of each image's own, so that maps do not depend on tiling"
        )
    cropped = f", {summary.cropped} HR cropped to a multiple of {bundle.config.scale}" if summary.cropped else ""
    print(f"generated {summary.written} pairs, skipped {summary.skipped} already done{cropped}: {summary.out_dir}")
    for path, others in summary.clashing.items():
        print(f"dasr: failed: '{path}': '{others[0]}' would be written as lr/{path.stem}.png too; rename one",
              file=sys.stderr)
    return 1 if summary.clashing else 0


def _refuse_too_small(paths: list[Path], scale: int) -> None:
    """Stop before any work on an HR image that gives no LR pixel (``generate_pairs`` would leave
    it out with a warning, which ``--skip-bad`` asks for)."""
    from dasr.stage1_5_maps.generate import too_small_for

    for path, (width, height) in too_small_for(paths, scale).items():
        raise DasrError(
            f"--hr: '{path}' ({width}x{height}) is smaller than the scale {scale} (use --skip-bad to leave such files out)"
        )
