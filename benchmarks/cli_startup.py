"""Start-up time of the ``dasr`` command: ``--help``, ``--version``, ``sr --help`` and ``dasr sr``
on one 64x64 image, next to ``python -c "import torch"`` and to importing torch plus the forward
pass of the same network, which is all that ``dasr sr`` must spend.

Each case is a fresh process (``python -m dasr``, what the ``dasr`` script runs), timed from
start to exit; the cases take turns, ``--runs`` rounds, and the median and the fastest run of
each are printed, so a load that comes and goes on a shared machine touches every case alike.
Importing torch takes seconds and varies by as much on a busy machine, so the cost of ``dasr sr``
over its reference is also measured without it: two cases import torch first and time only what
follows, in the process (the network and its forward pass; ``dasr``'s ``main`` running ``sr``).
The model is a tiny RRDBNet (nf 8, nb 1, gc 4, x4, as the tests' ``tiny_net``) written as a
model file, so the forward pass is milliseconds and the figures are the start-up itself.
``dasr sr`` runs with ``--overwrite``: every round reads, upscales and writes the image.
Compiled bytecode is kept for the children in a scratch ``PYTHONPYCACHEPREFIX`` (even where
``PYTHONDONTWRITEBYTECODE`` is set), as an installed package has it, and made by the warm-up run:
otherwise every process would compile dasr's sources again while torch's come precompiled.

    python benchmarks/cli_startup.py                 # 5 rounds
    OMP_NUM_THREADS=1 python benchmarks/cli_startup.py --runs 7 --json startup.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from table import Column, format_table, write_json

from dasr.archs.rrdbnet import RRDBNet
from dasr.inference.model_file import save_model

SIZES = {"num_features": 8, "num_blocks": 1, "growth_channels": 4}
SIDE = 64
SR_CASE = f"dasr sr, one {SIDE}x{SIDE} image"
REFERENCE_CASE = "import torch + network + forward"
SR_AFTER_TORCH = "after import torch: dasr sr (in process)"
REFERENCE_AFTER_TORCH = "after import torch: network + forward (in process)"

FORWARD = (
    "from dasr.archs.rrdbnet import RRDBNet; "
    f"net = RRDBNet(4, **{SIZES!r}).eval(); "
    f"torch.inference_mode().__enter__(); net(torch.rand(1, 3, {SIDE}, {SIDE}))"
)
"""The reference for ``dasr sr`` once torch is imported: build the network, one forward pass."""


def after_torch(code: str) -> str:
    """``code`` timed in the process after ``import torch``; the seconds are its last output line."""
    return f"import time, torch; started = time.perf_counter(); {code}; print(time.perf_counter() - started)"


def write_inputs(folder: Path) -> tuple[Path, Path]:
    """A tiny x4 model file and a 64x64 RGB PNG."""
    torch.manual_seed(0)
    model = folder / "model.safetensors"
    save_model(model, RRDBNet(4, **SIZES).eval(), weights="generator", preset="none", config={}, training={})
    pixels = np.random.default_rng(0).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    image = folder / "in.png"
    Image.fromarray(pixels).save(image)
    return model, image


def cases(folder: Path) -> dict[str, list[str]]:
    model, image = write_inputs(folder)
    python, dasr = [sys.executable], [sys.executable, "-m", "dasr"]
    sr = ["sr", "--model", str(model), "--input", str(image), "--output", str(folder / "out"), "--overwrite"]
    return {
        "python -c pass": [*python, "-c", "pass"],
        'python -c "import torch"': [*python, "-c", "import torch"],
        REFERENCE_CASE: [*python, "-c", f"import torch; {FORWARD}"],
        "dasr --help": [*dasr, "--help"],
        "dasr --version": [*dasr, "--version"],
        "dasr sr --help": [*dasr, "sr", "--help"],
        "dasr sr (argument error)": [*dasr, "sr", "--model", str(model)],
        SR_CASE: [*dasr, *sr],
        REFERENCE_AFTER_TORCH: [*python, "-c", after_torch(FORWARD)],
        SR_AFTER_TORCH: [*python, "-c", after_torch(f"from dasr.cli.main import main; main({sr!r})")],
    }


def run_once(argv: list[str], env: dict[str, str], *, printed: bool) -> float:
    """The process's wall-clock seconds, or (``printed``) the seconds it printed last."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=printed)  # the argument error exits 2
    elapsed = time.perf_counter() - started
    return float(done.stdout.split()[-1]) if printed else elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of every case (default: 5)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also save the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dasr-startup-") as scratch:
        commands = cases(Path(scratch))
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        printed = {SR_AFTER_TORCH, REFERENCE_AFTER_TORCH}
        for name, argv in commands.items():  # warm the file cache and write the bytecode once
            run_once(argv, env, printed=name in printed)
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                seconds[name].append(run_once(argv, env, printed=name in printed))
    rows = [{"case": name, "median": statistics.median(times), "min": min(times)} for name, times in seconds.items()]
    overhead = statistics.median(sr - ref for sr, ref in zip(seconds[SR_CASE], seconds[REFERENCE_CASE]))
    in_process = statistics.median(seconds[SR_AFTER_TORCH]) - statistics.median(seconds[REFERENCE_AFTER_TORCH])
    print(f"start-up, {args.runs} rounds, seconds (torch {torch.__version__}, Python {sys.version.split()[0]}):")
    print(format_table(rows, [Column("case", "case"), Column("median", "median s", ".2f"), Column("min", "min s", ".2f")]))
    print(f"  dasr sr over {REFERENCE_CASE}: {overhead:+.2f} s (median of the differences within a round)")
    print(f"  the same, torch's import left out: {in_process:+.2f} s (difference of the in-process medians)")
    if args.json:
        write_json(args.json, {"runs": args.runs, "rows": rows, "sr_overhead_s": overhead,
                               "sr_overhead_after_torch_s": in_process})


if __name__ == "__main__":
    main()
