"""Data-loading speed: ms per training batch of both stages, decode cache off and on.

Batches come from the trainers' own datasets and ``patch_batches`` loader (stage 1: HR and real
LR; stage 2: generated pairs with their maps, real LR and unpaired HR), at a preset's patch and
batch size, read in the training process (``data.num_workers=0``) and by the configured workers.
With the cache on (``data.cache_mb`` per worker) a data set that fits is decoded once per worker
and then only cropped; a step must take longer than the loader's ms/batch for the workers to
hide loading completely (train_*_speed.py measure the actual waiting while training).

    python benchmarks/data_loading.py --preset paper
    python benchmarks/data_loading.py --preset paper --hr /path/to/hr --lr /path/to/real-lr --json data.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from image_sets import ImageSets, image_sets
from table import Column, format_table, write_json
from train_bench import Stage, warmup_batches
from train_dsn_speed import DSNStage
from train_srn_speed import SRNStage

from dasr.config.loader import load_config
from dasr.config.schema import Config


def batch_ms(stage: Stage, config: Config, images: ImageSets, workdir: Path, *, batches: int) -> tuple[float, float]:
    """``(ms per batch while every worker decodes its first images, ms per batch after)``."""
    loader = stage.real_batches(config, images, workdir)
    first = warmup_batches(images, stage.batch_size(config), config.data.num_workers)
    timings = []
    for count in (first, batches):
        start = time.perf_counter()
        for _ in range(count):
            next(loader)
        timings.append(1000 * (time.perf_counter() - start) / count)
    del loader  # stops the worker processes
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--hr", type=Path, help="HR image folder (default: synthetic images)")
    parser.add_argument("--lr", type=Path, help="real-LR image folder")
    parser.add_argument("--batches", type=int, default=5, help="batches timed after the first pass")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also save the figures as JSON")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        images = image_sets(args.hr, args.lr, workdir)
        for stage, stage_name in ((DSNStage(), "stage 1"), (SRNStage(), "stage 2")):
            config = stage.configure(load_config(args.preset, (), args.overrides))
            for cache_mb in (0, config.data.cache_mb):
                for workers in sorted({0, config.data.num_workers}):
                    data = replace(config.data, cache_mb=cache_mb, num_workers=workers)
                    first, steady = batch_ms(stage, replace(config, data=data), images, workdir, batches=args.batches)
                    rows.append(
                        {
                            "stage": stage_name,
                            "batch": f"{stage.batch_size(config)} x {stage.patch_size(config)}px",
                            "cache_mb": cache_mb,
                            "num_workers": workers,
                            "first_ms_per_batch": first,
                            "ms_per_batch": steady,
                        }
                    )
    print(f"data loading, preset {args.preset}: {images.source}")
    print(
        format_table(
            rows,
            [
                Column("stage", "dataset"),
                Column("batch", "batch"),
                Column("cache_mb", "cache MB"),
                Column("num_workers", "workers"),
                Column("first_ms_per_batch", "first pass ms/batch", ".1f"),
                Column("ms_per_batch", "after ms/batch", ".1f"),
            ],
        )
    )
    if args.json:
        write_json(args.json, {"benchmark": "data loading", "preset": args.preset, "images": images.source, "rows": rows})


if __name__ == "__main__":
    main()
