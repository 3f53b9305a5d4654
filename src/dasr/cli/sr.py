"""super-resolve images with a trained model

Upscale an image or every image of a folder, tile by tile (any size, bounded memory, no seams).
Rerunning skips the outputs that exist."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dasr.errors import DasrError

if TYPE_CHECKING:
    from dasr.inference.api import Upscaler

EXTENSIONS = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tif": ".tif", "same": None}
"""``--ext`` choices; ``same`` keeps each input's extension."""

EXIT_SOME_FAILED = 1


@dataclass
class Summary:
    written: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    """One message per file that could not be done."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, required=True, metavar="MODEL_OR_RUN",
        help="model.safetensors, a 'dasr fit' / 'dasr train-srn' run folder, a stage-2 checkpoint "
        "or RRDB weights (BasicSR, Real-ESRGAN, ESRGAN, mmsr)",
    )
    parser.add_argument(
        "--input", type=Path, required=True, metavar="FILE_OR_DIR", help="an image or a folder of images"
    )
    parser.add_argument("--output", type=Path, required=True, metavar="DIR", help="folder for the upscaled images")
    parser.add_argument(
        "--tile", type=int, metavar="N",
        help="tile size in input pixels; bounds memory, hardly changes results (default: from free memory)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--fp32", action="store_true", help="no fp16 autocast on CUDA (the CPU always uses fp32)")
    parser.add_argument(
        "--no-optimize", action="store_true",
        help="run the plain NCHW forward instead of the faster channels_last one (same results up to rounding)",
    )
    parser.add_argument(
        "--pad", choices=("reflect", "zero"), default="reflect",
        help="image border: reflect-padded (default, no dark frame) or zero, as the convolutions pad it in "
        "BasicSR / Real-ESRGAN inference (the same pixels as theirs; up to tens of levels darker within "
        "about 8 pixels of the border)",
    )
    parser.add_argument("--suffix", default="", metavar="S", help="appended to each output's name stem (default: none)")
    parser.add_argument(
        "--ext", choices=tuple(EXTENSIONS), default="png",
        help="output format; 'same' keeps the input's (default: png, which keeps 16 bit and alpha)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs instead of skipping them")
    parser.add_argument(
        "--skip-bad", action="store_true",
        help="exit with status 0 even when some images failed (they are listed either way)",
    )


def run(args: argparse.Namespace) -> int:
    """Bit depth, grey and alpha are kept (16-bit in, 16-bit out where the format holds it), EXIF
    orientation is applied on reading, and every output appears under its name only once complete.
    A folder run goes on past a file that fails (unreadable, out of memory, unwritable): the
    failures are listed at the end and the exit status is 1 (0 with ``--skip-bad``). Finished
    outputs are skipped on a rerun, so an interrupted run continues where it stopped."""
    from dasr.data.folders import list_images, unreadable_images
    from dasr.inference.api import load_model

    if args.tile is not None and args.tile < 1:
        raise DasrError(f"--tile must be a positive number of pixels, got {args.tile}")
    if args.output.exists() and not args.output.is_dir():
        raise DasrError(f"--output: '{args.output}' exists and is not a folder")
    inputs = list_images(args.input, "--input", warn_unreadable=False)
    jobs, refused = plan_outputs(inputs, args.output, suffix=args.suffix, ext=EXTENSIONS[args.ext])
    upscaler = load_model(
        args.model,
        device=args.device,
        precision="fp32" if args.fp32 else "auto",
        optimize=not args.no_optimize,
        border=args.pad,
    )
    started = time.perf_counter()
    summary = upscale_files(upscaler, jobs, overwrite=args.overwrite, tile=args.tile)
    summary.failed[:0] = [
        *(f"'{path}': {reason}" for path, reason in unreadable_images(args.input)),
        *refused,
    ]
    for message in summary.failed:
        print(f"dasr: failed: {message}", file=sys.stderr)
    failed = f", {len(summary.failed)} failed" if summary.failed else ""
    print(
        f"upscaled {summary.written} images x{upscaler.scale} into {args.output} in "
        f"{time.perf_counter() - started:.1f} s, skipped {summary.skipped} existing{failed}"
    )
    return EXIT_SOME_FAILED if summary.failed and not args.skip_bad else 0


def plan_outputs(
    inputs: list[Path], out_dir: Path, *, suffix: str, ext: str | None
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """``(input, output)`` pairs, and a message for each input that gets none.

    Inputs whose outputs would share a name (``a.jpg`` and ``a.png`` with ``--ext png``) keep
    their own extension in the stem (:func:`~dasr.data.folders.output_stems`), so no file is
    lost to a clash. What still collides, or would replace its input, fails alone: a clash
    concerns two files, not the run.
    """
    from dasr.data.folders import clashing_outputs, output_stems

    stems = output_stems(inputs)
    outputs = {source: out_dir / f"{stems[source]}{suffix}{ext or source.suffix.lower()}" for source in inputs}
    clashes = clashing_outputs(outputs)
    jobs, refused = [], []
    for source, output in outputs.items():
        if source in clashes:
            others = ", ".join(f"'{other}'" for other in clashes[source])
            refused.append(f"'{source}': its output '{output}' would also be written by {others}; use --suffix or --ext same")
        elif output.resolve() == source.resolve():
            refused.append(f"'{source}': its output would replace it; use another --output folder or a --suffix")
        else:
            jobs.append((source, output))
    return jobs, refused


def upscale_files(upscaler: Upscaler, jobs: list[tuple[Path, Path]], *, overwrite: bool, tile: int | None) -> Summary:
    """Upscale each input to its output, keeping bit depth, grey and alpha; a file that fails is
    recorded and the others go on."""
    from dasr.data.image_io import read_image, write_image
    from dasr.engine.progress import progress

    summary = Summary()
    for source, target in progress(total=len(jobs), desc="sr", enabled=len(jobs) > 1, items=jobs):
        if target.exists() and not overwrite:
            summary.skipped += 1
            continue
        try:
            image = upscaler.upscale(read_image(source), tile=tile)
            write_image(target, image.pixels, bit_depth=image.bit_depth, alpha=image.alpha)
            summary.written += 1
        except DasrError as error:
            message = str(error)
            summary.failed.append(message if str(source) in message else f"'{source}': {message}")
    return summary
