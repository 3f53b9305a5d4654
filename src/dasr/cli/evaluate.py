"""score SR images against HR references (PSNR, SSIM, HaarPSI, MS-SSIM, GMSD, HF, LPIPS, FID)

Score SR images against their HR references, matched by file name: PSNR and SSIM on RGB and on Y
with a border of --scale pixels cropped, the weight-free HaarPSI, MS-SSIM and GMSD, the high-frequency
energy of SR and HR (HF, HF-HR; 8-bit levels), LPIPS (AlexNet, v0.1) when its weights are on this
machine, FID/KID with --fid. Give --sr SR_DIR, or --model and --lr to make the SR images first (kept
in OUT/sr with --out). See docs/evaluation.md for the protocol."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dasr.errors import DasrError

if TYPE_CHECKING:
    import torch

    from dasr.evaluation import Pair


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sr", type=Path, metavar="SR_DIR", help="super-resolved images (or one image)")
    parser.add_argument("--model", type=Path, help="model file or run folder: make the SR images from --lr")
    parser.add_argument("--lr", type=Path, metavar="LR_DIR", help="low-resolution inputs for --model")
    parser.add_argument("--hr", type=Path, required=True, metavar="HR_DIR", help="HR reference images")
    parser.add_argument(
        "--scale", type=_positive_int, metavar="S", help="upscaling factor (with --model: checked against the model)"
    )
    parser.add_argument("--sr-suffix", default="", metavar="TEXT", help="end of SR names to ignore, e.g. _x4")
    parser.add_argument("--hr-suffix", default="", metavar="TEXT", help="end of HR names to ignore, e.g. _HR")
    parser.add_argument(
        "--crop-border", type=int, metavar="N", help="pixels ignored on each side for PSNR/SSIM (default: --scale)"
    )
    parser.add_argument(
        "--lpips",
        choices=("auto", "on", "off"),
        default="auto",
        help="auto: computed when its weights are on this machine, else a note; on: required (default: auto)",
    )
    parser.add_argument("--fid", action="store_true", help="also FID and KID between the SR and HR sets")
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write metrics.csv and metrics.json (and sr/ with --model)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "fp16", "bf16"),
        default="auto",
        help="--model on CUDA: auto = fp16 autocast, fp32 = none (the CPU always uses fp32)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _check_sources(args: argparse.Namespace) -> None:
    if (args.sr is None) == (args.model is None):
        raise DasrError("give either --sr SR_DIR or --model MODEL with --lr LR_DIR")
    if args.model is not None and args.lr is None:
        raise DasrError("--model needs --lr LR_DIR, the images to upscale")
    if args.sr is not None and args.lr is not None:
        raise DasrError("--lr is only used with --model; with --sr the SR images are given")
    if args.sr is not None and args.scale is None:
        raise DasrError("--sr needs --scale S, which sets the border cropped for PSNR/SSIM")


def _model_pairs(
    args: argparse.Namespace, hr_paths: list[Path], device: torch.device, scratch: Path
) -> tuple[int, list[Pair]]:
    """``--model`` mode: the LR images upscaled into OUT/sr (or ``scratch``), paired with HR."""
    from dasr.data.folders import list_images
    from dasr.evaluation import match_pairs, super_resolve_folder
    from dasr.inference.api import load_model

    upscaler = load_model(args.model, device=device, precision=args.precision)
    if args.scale not in (None, upscaler.scale):
        raise DasrError(f"--scale {args.scale} does not match the x{upscaler.scale} model '{args.model}'")
    # Matched before upscaling, so a missing partner is reported before minutes of work; each SR
    # image keeps its LR image's name.
    lr_pairs = match_pairs(
        list_images(args.lr, "--lr"), hr_paths, sr_suffix=args.sr_suffix, hr_suffix=args.hr_suffix, sr_option="--lr"
    )
    sr_dir = args.out / "sr" if args.out is not None else scratch
    sr_paths = super_resolve_folder(upscaler, [pair.sr for pair in lr_pairs], sr_dir, progress=not args.no_progress)
    return upscaler.scale, [replace(pair, sr=sr_path) for pair, sr_path in zip(lr_pairs, sr_paths, strict=True)]


def run(args: argparse.Namespace) -> int:
    from dasr.data.folders import list_images
    from dasr.engine.device import select_device
    from dasr.evaluation import evaluate_pairs, format_table, match_pairs, write_report

    _check_sources(args)
    device = select_device(args.device, "--device")
    hr_paths = list_images(args.hr, "--hr")
    with tempfile.TemporaryDirectory(prefix="dasr-eval-") as scratch:
        if args.model is None:
            sr_paths = list_images(args.sr, "--sr")
            pairs = match_pairs(sr_paths, hr_paths, sr_suffix=args.sr_suffix, hr_suffix=args.hr_suffix)
            scale = args.scale
        else:
            scale, pairs = _model_pairs(args, hr_paths, device, Path(scratch))
        report = evaluate_pairs(
            pairs,
            scale=scale,
            crop_border=args.crop_border,
            lpips=args.lpips,
            fid=args.fid,
            device=device,
            progress=not args.no_progress,
        )
    for notice in report.notices:
        print(f"dasr: note: {notice}", file=sys.stderr)
    print(format_table(report))
    if args.out is not None:
        csv_path, json_path = write_report(report, args.out)
        print(f"written: {csv_path}, {json_path}")
    return 0
