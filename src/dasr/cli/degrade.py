"""make realistic LR images (blur, down-sampling, sensor noise, JPEG) from HR photos

Degrade every HR image into an LR PNG of the same stem; with --pairs, write a paired validation set
(OUTPUT/lr, OUTPUT/hr). Existing outputs are skipped unless --overwrite."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dasr.cli.options import add_skip_bad_option
from dasr.degradations.presets import PRESETS
from dasr.errors import DasrError
from dasr.files.tables import json_text, write_text_files

if TYPE_CHECKING:
    from dasr.degradations.pipeline import Step

SCALES = (4, 2, 1)
DEFAULT_PRESET = "phone-camera"
RECORD_NAME = "degradations.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=Path, required=True, metavar="HR_DIR", help="HR image or folder")
    parser.add_argument("--output", type=Path, required=True, metavar="LR_DIR", help="output folder")
    parser.add_argument("--scale", type=int, required=True, help="down-scaling factor: 4, 2 or 1")
    parser.add_argument(
        "--preset", help=f"built-in pipeline: {', '.join(PRESETS)} (default: {DEFAULT_PRESET})"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="YAML pipeline ('steps: [...]') instead of a preset")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-image draws (default: 0)")
    parser.add_argument("--pairs", action="store_true", help="also write the cropped HR: OUTPUT/lr and OUTPUT/hr")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs instead of skipping them")
    add_skip_bad_option(parser)


def run(args: argparse.Namespace) -> int:
    """Every image's degradation is drawn from a generator seeded by (--seed, its index in the
    sorted input folder), so a rerun, a partial rerun or a rerun after adding ``--skip-bad`` gives
    the same bytes. ``degradations.json`` records the settings and the parameters drawn per image;
    a rerun with other settings into the same output is refused unless --overwrite, so the record
    never describes files it did not make."""
    from dasr.data.folders import (
        check_images,
        clashing_outputs,
        list_images,
        output_stems,
    )
    from dasr.engine.progress import progress

    steps = _pipeline(args)
    if args.output.exists() and not args.output.is_dir():
        raise DasrError(f"--output: '{args.output}' exists and is not a folder")
    listed = list_images(args.input, "--input")
    lr_dir, hr_dir = (args.output / "lr", args.output / "hr") if args.pairs else (args.output, None)
    if lr_dir.resolve() == listed[0].parent.resolve():
        raise DasrError(f"--output: '{lr_dir}' is the input folder; the LR images would replace their HR images")
    readable = check_images(listed, "--input", args.skip_bad)
    stems = output_stems(readable)
    clashes = clashing_outputs({path: lr_dir / f"{stems[path]}.png" for path in readable})
    failed = [
        f"'{path}': its output '{stems[path]}.png' would also be written by "
        + ", ".join(f"'{other}'" for other in others)
        for path, others in clashes.items()
    ]
    readable = [path for path in readable if path not in clashes]
    settings = _settings(args, steps)
    record_path = args.output / RECORD_NAME
    images = _previous_images(record_path, settings, args.overwrite)
    indices = {path: index for index, path in enumerate(listed)}  # unreadable files keep their place
    started, written = time.perf_counter(), 0
    for path in progress(total=len(readable), desc="degrade", enabled=len(readable) > 1, items=readable):
        stem = stems[path]
        targets = [lr_dir / f"{stem}.png"] + ([hr_dir / f"{stem}.png"] if hr_dir else [])
        if args.overwrite or not all(target.exists() for target in targets):
            try:
                images[stem] = _degrade_file(path, indices[path], targets, steps, args.scale, args.seed)
                written += 1
            except DasrError as error:  # e.g. smaller than the scale: that file alone fails
                if not args.skip_bad:
                    raise
                failed.append(str(error))
    recorded = {stems[path]: images[stems[path]] for path in sorted(readable, key=stems.get) if stems[path] in images}
    write_text_files({record_path: json_text({**settings, "images": recorded})}, "--output")
    for message in failed:
        print(f"dasr: failed: {message}", file=sys.stderr)
    print(
        f"degraded {written} images x{args.scale} into {args.output} in {time.perf_counter() - started:.1f} s, "
        f"skipped {len(readable) - written - len(failed)} existing" + (f", {len(failed)} failed" if failed else "")
    )
    return 1 if failed else 0


def _pipeline(args: argparse.Namespace) -> tuple[Step, ...]:
    """The degradation steps the options name, checked before any image is read."""
    from dasr.degradations.pipeline import config_steps, preset_steps

    if args.scale not in SCALES:
        raise DasrError(f"--scale must be one of {', '.join(map(str, SCALES))}, got {args.scale}")
    if args.preset is not None and args.config is not None:
        raise DasrError("give --preset or --config, not both")
    return config_steps(args.config) if args.config else preset_steps(args.preset or DEFAULT_PRESET)


def _settings(args: argparse.Namespace, steps: tuple[Step, ...]) -> dict[str, Any]:
    """What decides every output's bytes: a rerun reuses the files of a record with the same."""
    return {
        "source": str(args.config) if args.config else args.preset or DEFAULT_PRESET,
        "seed": args.seed,
        "scale": args.scale,
        "pairs": args.pairs,
        "steps": [step.as_dict() for step in steps],
    }


def _previous_images(record_path: Path, settings: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """The per-image records of an earlier run with the same settings (kept for skipped files)."""
    if not record_path.exists():
        return {}
    try:
        previous = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DasrError(f"--output: cannot read '{record_path}': {error}") from error
    if {key: previous.get(key) for key in settings} == settings:
        return dict(previous.get("images", {}))
    if not overwrite:
        raise DasrError(
            f"--output: '{record_path}' was made with other settings (preset/config, seed, scale, --pairs); "
            "use another --output or --overwrite"
        )
    return {}


def _degrade_file(
    path: Path, index: int, targets: list[Path], steps: tuple[Step, ...], scale: int, seed: int
) -> dict[str, Any]:
    from dasr.data.image_io import read_image, to_rgb, write_image
    from dasr.degradations.pipeline import degrade

    image = read_image(path)
    height, width = image.pixels.shape[:2]
    if min(height, width) < scale:
        raise DasrError(f"--input: '{path}' ({height}x{width}) is smaller than --scale {scale}")
    lr, hr, drawn = degrade(to_rgb(image.pixels), steps, scale, seed, index)
    write_image(targets[0], lr)
    if len(targets) > 1:
        write_image(targets[1], hr, bit_depth=image.bit_depth)
    return {"input": path.name, "index": index, "hr_size": list(hr.shape[:2]), "steps": drawn}
