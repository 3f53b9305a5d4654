"""``dasr generate``: stage 1.5, generated LR images and domain-distance maps from a trained DSN."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.cli.options import add_skip_bad_option
from dasr.data.folders import check_images, list_images
from dasr.engine.device import select_device
from dasr.stage1_5_maps.generate import generate_pairs
from dasr.stage1_dsn.networks import load_dsn


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="stage 1.5: generated LR images and domain-distance maps",
        description="Run the trained DSN on every HR image and write the generated LR image, its "
        "domain-distance map (.npy) and a heatmap picture of the map. Rerunning the same command "
        "skips the images already done.",
    )
    parser.add_argument(
        "--dsn",
        type=Path,
        required=True,
        metavar="RUN_OR_CHECKPOINT",
        help="'dasr train-dsn' run folder (uses its last checkpoint) or a checkpoint file",
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
    add_skip_bad_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bundle = load_dsn(args.dsn)
    hr_paths = check_images(list_images(args.hr, "--hr"), "--hr", args.skip_bad)
    summary = generate_pairs(
        bundle,
        hr_paths,
        args.out,
        scale=bundle.config.scale,
        tile=args.tile if args.tile is not None else bundle.config.generate.tile,
        device=select_device(args.device),
    )
    cropped = f", {summary.cropped} HR cropped to a multiple of {bundle.config.scale}" if summary.cropped else ""
    print(f"generated {summary.written} pairs, skipped {summary.skipped} already done{cropped}: {summary.out_dir}")
    return 0
