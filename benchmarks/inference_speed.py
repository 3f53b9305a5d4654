"""Tiled inference speed and peak memory: output megapixels/s for 1, 4 and 16 MP outputs.

x4 RRDBNets with random weights (speed does not depend on them): the full ESRGAN network
(nf 64, nb 23, gc 32) and a small one (nf 32, nb 2, gc 16), on LR images of 256, 512 and 1024
pixels square, with the automatic tile and, at 1 MP, two fixed tiles. The CPU computes in fp32,
CUDA under fp16 autocast (what ``dasr sr`` does). Each case runs in its own process, so its peak
memory is its own: on the CPU the increase of the process's maximum resident set size during the
call (``tracemalloc`` does not see torch's allocations), on CUDA ``torch.cuda.max_memory_allocated``.
Both include the CPU-side output image and exclude the network weights.

Cases whose time, predicted from a short calibration run of each network, does not fit in what is
left of ``--budget`` seconds per device are skipped and listed (the full network on 2 CPU cores
does about 150 LR pixels/s: one 1 MP output takes ten minutes).

    python benchmarks/inference_speed.py                  # CPU, and CUDA when available (~5 min on 2 cores)
    python benchmarks/inference_speed.py --quick          # 1 MP outputs, automatic tile only
    python benchmarks/inference_speed.py --device cuda --budget 600
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch
from timing import seconds_per_call

from dasr.archs.rrdbnet import RRDBNet
from dasr.inference.tiled import DEFAULT_OVERLAP, auto_tile, tile_spans, upscale_tiled

NETWORKS = {
    "small (nf32 nb2)": {"num_features": 32, "num_blocks": 2, "growth_channels": 16},
    "full (nf64 nb23)": {"num_features": 64, "num_blocks": 23, "growth_channels": 32},
}
"""In the order measured: the full network gets what the small one leaves of the budget."""
SCALE = 4
LR_SIZES = (256, 512, 1024)
FIXED_TILES = {"cpu": (128, 256), "cuda": (256, 512)}
"""Tile sizes measured next to the automatic one, at the smallest image."""
CALIBRATION_SIZE = {"cpu": 32, "cuda": 256}
"""LR size of the calibration pass: small enough for the full network on 2 CPU cores (~7 s)."""


@dataclass(frozen=True)
class Case:
    device: str
    network: str
    lr_size: int
    tile: int | None

    def build(self) -> RRDBNet:
        torch.manual_seed(0)
        return RRDBNet(SCALE, **NETWORKS[self.network]).to(self.device).eval()

    def dtype(self) -> torch.dtype:
        return torch.float16 if self.device == "cuda" else torch.float32


def measure(case: Case) -> dict:
    """Run one case in this process (a fresh one: see ``--case``)."""
    device = torch.device(case.device)
    network = case.build()
    tile = case.tile or auto_tile(network, device, case.dtype())

    def run(size: int) -> None:
        upscale_tiled(network, torch.rand(1, 3, size, size), scale=SCALE, tile=tile, device=device, dtype=case.dtype())

    run(32)  # allocator, cuDNN and oneDNN set-up are not part of the figure
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base_gpu = torch.cuda.memory_allocated() if device.type == "cuda" else 0
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = seconds_per_call(lambda: run(case.lr_size), device=device, steps=1, warmup=0)
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) * 1024
    gpu = torch.cuda.max_memory_allocated() - base_gpu if device.type == "cuda" else None
    return {"tile": tile, "seconds": seconds, "rss_bytes": rss, "gpu_bytes": gpu}


def calibrate(case: Case) -> tuple[float, int]:
    """LR pixels per second of one bare network pass on a small input, and the automatic tile."""
    device = torch.device(case.device)
    model, size = case.build(), CALIBRATION_SIZE[device.type]

    def call(side: int) -> None:
        x = torch.rand(1, 3, side, side, device=device)
        with torch.inference_mode(), torch.autocast(device.type, dtype=case.dtype(), enabled=device.type == "cuda"):
            model(x)

    call(8)  # set-up, not timed
    rate = size * size / seconds_per_call(lambda: call(size), device=device, steps=1, warmup=0)
    return rate, auto_tile(model, device, case.dtype())


def tiled_pixels(lr_size: int, tile: int) -> int:
    """LR pixels the network sees for one image: padding and tile overlaps included."""
    spans = tile_spans(lr_size + 2 * DEFAULT_OVERLAP, tile, DEFAULT_OVERLAP, 1)
    return sum(stop - start for start, stop in spans) ** 2


def run_in_subprocess(case: Case) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--case", json.dumps(asdict(case))], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def benchmark_device(device: str, *, quick: bool, budget: float) -> tuple[list[str], list[str]]:
    """Table rows and skipped cases of one device."""
    sizes = LR_SIZES[:1] if quick else LR_SIZES
    rows, skipped = [], []
    started = time.perf_counter()
    for network in NETWORKS:
        rate, auto = calibrate(Case(device, network, 0, None))
        bare = f"{CALIBRATION_SIZE[device]}² bare pass"
        rows.append(f"| {device} | {network} | {bare} | | | | | {rate * SCALE**2 / 1e6:.3f} | |")
        for size in sizes:
            tiles = [None] + ([] if quick or size != sizes[0] else list(FIXED_TILES[device]))
            for tile in tiles:
                case = Case(device, network, size, tile)
                predicted = tiled_pixels(size, tile or auto) / rate
                left = budget - (time.perf_counter() - started)
                if predicted > left:
                    name = f"{device} {network} LR {size} tile {tile or 'auto'}"
                    skipped.append(f"{name}: predicted {predicted:.0f} s, {left:.0f} s left")
                    continue
                result = run_in_subprocess(case)
                megapixels = (size * SCALE) ** 2 / 1e6
                memory = result["gpu_bytes"] if result["gpu_bytes"] is not None else result["rss_bytes"]
                kind = "GPU" if device == "cuda" else "RSS"
                used = f"{result['tile']}{' (auto)' * (tile is None)}"
                rows.append(
                    f"| {device} | {network} | {size}² | {megapixels:.1f} | {used} | "
                    f"{result['seconds']:.2f} | {predicted:.1f} | {megapixels / result['seconds']:.3f} | "
                    f"{memory / 2**30:.2f} GiB {kind} |"
                )
    return rows, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CPU, and CUDA when available"
    )
    parser.add_argument("--quick", action="store_true", help="1 MP outputs with the automatic tile only")
    parser.add_argument("--budget", type=float, help="seconds of measurements per device (default 240, --quick 60)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(Case(**json.loads(args.case)))))
        return
    if args.device == "auto":
        devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    else:
        devices = [args.device]
    budget = args.budget if args.budget is not None else (60 if args.quick else 240)
    name = torch.cuda.get_device_name() if "cuda" in devices else ""
    print(f"x{SCALE} tiled inference, overlap {DEFAULT_OVERLAP}, {torch.get_num_threads()} CPU threads {name}".rstrip())
    print("| device | network | LR | output MP | tile | seconds | predicted s | MP/s | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    all_skipped = []
    for device in devices:
        rows, skipped = benchmark_device(device, quick=args.quick, budget=budget)
        print("\n".join(rows), flush=True)
        all_skipped += skipped
    for line in all_skipped:
        print(f"skipped: {line}")


if __name__ == "__main__":
    main()
