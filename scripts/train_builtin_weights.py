"""Train the built-in weights ``builtin:rrdb-small-x4`` / ``-x2`` (dasr.pipeline.builtin_weights)
on one CPU thread and write them into the package, or re-measure the shipped files.

    OMP_NUM_THREADS=1 python scripts/train_builtin_weights.py --photos ../shared/data/photos \\
        --work runs/builtin-weights --scale 4 2
    python scripts/train_builtin_weights.py --photos ../shared/data/photos --work runs/builtin-weights \\
        --scale 4 2 --measure        # the held-out figures of the shipped files

Rerunning the same command resumes an interrupted training from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import torch

from dasr.errors import DasrError
from dasr.pipeline.builtin_weights import RECIPES, measure, prepare_photos, train_builtin_weights
from dasr.weights.builtin import BUILTIN_DIR


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="the development photos (their wallpapers)")
    parser.add_argument("--work", type=Path, required=True, help="run folders and held-out pairs go here")
    parser.add_argument("--scale", type=int, nargs="+", choices=sorted(RECIPES), default=sorted(RECIPES, reverse=True))
    parser.add_argument("--out-dir", type=Path, default=BUILTIN_DIR, help=f"where the files go (default: {BUILTIN_DIR})")
    parser.add_argument("--iters", type=int, help="override the recipe's iterations (quick checks)")
    parser.add_argument("--measure", action="store_true", help="only score the files in --out-dir, do not train")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the budget is one CPU thread (and the recipe was timed on one)
    torch.set_num_interop_threads(1)
    command = shlex.join(["OMP_NUM_THREADS=1", "python", *sys.argv])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        for scale in args.scale:
            out_file = args.out_dir / f"rrdb-small-x{scale}.safetensors"
            if args.measure:
                scores = measure(out_file, prepare_photos(args.photos, scale, args.work), scale, args.work)
                print(json.dumps({"scale": scale, "file": str(out_file), **scores}, indent=1))
                continue
            recipe = RECIPES[scale] if args.iters is None else replace(RECIPES[scale], iters=args.iters)
            training = train_builtin_weights(args.photos, scale, args.work, out_file, recipe=recipe, command=command)
            print(json.dumps({"scale": scale, "file": str(out_file), **training}, indent=1), flush=True)
    except DasrError as error:
        print(f"train_builtin_weights: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
