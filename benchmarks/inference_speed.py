"""Inference speed: one network pass against the device's attainable FLOP rate, then tiled
inference in output megapixels/s and peak memory for 1, 4 and 16 MP outputs.

Network pass. The full ESRGAN network (nf 64, nb 23, gc 32, x4, random weights: speed does not
depend on them) on one LR input (64² on a CPU, 512² on CUDA), twice: the plain eager NCHW forward
and the optimized one ``dasr sr`` and ``load_model`` use by default (channels_last weights,
:mod:`dasr.inference.fast`). FLOPs are counted with ``torch.utils.flop_counter`` (convolutions only:
35.9 MFLOP per LR pixel) and divided by the best time; utilisation is that rate over the forward
rate of a large 64->64 3x3 convolution in the same dtype (``flops.reference_conv_rate``, the better
of both memory formats), measured in the same process, in turns with the two forwards, ``--rounds``
times, best of each kept. Also printed: speed-up over plain, output MP/s, the largest difference
from the plain output (fp32: within 1e-4), the peak GPU memory of one pass, the first pass's time
(kernel selection) and the layout conversion's (the optimized path's only set-up cost).

Tiled inference. x4 RRDBNets, the full one and a small one (nf 32, nb 2, gc 16), on LR images of
256, 512 and 1024 pixels square, with the automatic tile and, at 1 MP, two fixed tiles, through
``upscale_tiled`` with the optimized network (``--no-optimize``: the plain one). The CPU computes in
fp32, CUDA under fp16 autocast (what ``dasr sr`` does). Each case runs in its own process, so its
peak memory is its own: on the CPU the increase of the process's maximum resident set size during
the call (``tracemalloc`` does not see torch's allocations), on CUDA ``torch.cuda.max_memory_allocated``.
Both include the CPU-side output image and exclude the network weights. Cases whose time, predicted
from a short calibration pass, does not fit in what is left of ``--budget`` seconds per device are
skipped and listed.

Measured (best of interleaved rounds; the 2-core machine was shared with other jobs, so its
figures vary by about 10% between runs):

| machine | LR | plain NCHW | optimized | utilisation plain / optimized | speed-up |
|---|---|---|---|---|---|
| 2-core AMD EPYC (AVX2), torch 2.14, fp32 | 64² | 1186 ms | 1027 ms | 69% / 80% | 1.15x |
| same, 10 rounds, reference 1x64x128² | 64² | 1083 ms | 929 ms | 75% / 87% | 1.17x |
| Xeon, 2 of 16 threads (AVX-512), torch 2.11, fp32 | 64² | 839 ms | 645 ms | 58% / 76% | 1.30x |
| same | 128² | 4511 ms | 3139 ms | 62% / 90% | 1.44x |
| Xeon, 16 threads | 64² | 307 ms | 257 ms | 38% / 45% | 1.20x |
| H100, fp16 autocast (reference 189 TFLOP/s) | 512² | 110 ms | 84 ms | 45% / 59% | 1.31x |
| H100, bf16 autocast (reference 194 TFLOP/s) | 512² | 114 ms | 88 ms | 42% / 55% | 1.30x |
| H100, fp32 / TF32 (reference 126 TFLOP/s) | 512² | 186 ms | 159 ms | 40% / 47% | 1.17x |

Optimized outputs differed from plain ones by at most 4e-6 in fp32 on the CPU. On the H100 one
512² pass at fp16 peaked at 2.13 GiB optimized against 3.13 GiB plain (49.8 against 38.1 output
MP/s). Set-up: 0.1-0.2 s of layout conversion, no compilation; the first pass costs about 1.4x a
later one on a CPU. What limits utilisation: on the 2-core CPU the dense blocks' ``torch.cat``,
LeakyReLU and residual additions (memory-bound, about 10% of the time; the 32-output-channel
convolutions themselves run at the reference rate); on a 16-thread CPU or a GPU, a 64² or 512²
tile is too little work per convolution and the element-wise passes weigh more against fast
tensor cores. The plain NCHW forward already reaches 70-75% of the reference on the AMD CPU,
which bounds any speed-up there to about 1.3x. Tried and not adopted (see
:mod:`dasr.inference.fast`): ``torch.compile`` with inductor freezing (76-90 s compile for the
full network; on the Xeon 268-272 against 252-257 GFLOP/s for channels_last, with outputs 5e-2
from eager there), ``torch.jit.freeze`` + ``optimize_for_inference`` (54 s, no faster), and a
hand-fused oneDNN forward (prepacked weights, fused LeakyReLU and residual adds, a preallocated
dense-block buffer instead of ``torch.cat``): within -4% to +5% of channels_last.

    python benchmarks/inference_speed.py                  # CPU, and CUDA when available (~5 min on 2 cores)
    python benchmarks/inference_speed.py --pass-only      # the network-pass comparison only (~1 min on 2 cores)
    python benchmarks/inference_speed.py --quick          # plus 1 MP outputs with the automatic tile only
    python benchmarks/inference_speed.py --device cuda --precision fp16 bf16 fp32 --budget 600
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from flops import count_flops, reference_conv_rate
from timing import seconds_per_call, synchronize

from dasr.archs.rrdbnet import RRDBNet
from dasr.inference.api import PRECISIONS
from dasr.inference.fast import prepare_for_inference
from dasr.ops.blended_tiling import DEFAULT_OVERLAP, auto_tile, tile_spans, upscale_tiled

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
PASS_SIZE = {"cpu": 64, "cuda": 512}
"""LR size of the network-pass comparison: ~1 s per pass of the full network on 2 CPU cores."""


@dataclass(frozen=True)
class Case:
    device: str
    network: str
    lr_size: int
    tile: int | None
    optimize: bool = True
    """The default path of ``dasr sr`` (channels_last), or the plain NCHW forward."""

    def build(self) -> RRDBNet:
        torch.manual_seed(0)
        network = RRDBNet(SCALE, **NETWORKS[self.network])
        return prepare_for_inference(network, torch.device(self.device), optimize=self.optimize)

    def dtype(self) -> torch.dtype:
        return torch.float16 if self.device == "cuda" else torch.float32


def network_pass(device: torch.device, dtype: torch.dtype, size: int, rounds: int) -> tuple[list[str], list[str]]:
    """The full network's plain NCHW and optimized forward on one ``size``² LR input, against the
    reference convolution's forward rate in ``dtype``: rows of a table, and setup notes.

    The three are measured in turns, ``rounds`` times, and each keeps its best time, so that load
    from other processes hits them alike. FLOPs are counted on the eager network (convolutions
    only; the element-wise work is not counted).
    """
    torch.manual_seed(0)
    plain = prepare_for_inference(RRDBNet(SCALE, **NETWORKS["full (nf64 nb23)"]), device, optimize=False)
    started = time.perf_counter()
    fast = prepare_for_inference(copy.deepcopy(plain), device)
    synchronize(device)
    convert = time.perf_counter() - started
    lr = torch.rand(1, 3, size, size, device=device)

    def forward(network: RRDBNet) -> Callable[[], torch.Tensor]:
        def call() -> torch.Tensor:
            with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                return network(lr)

        return call

    calls = {"plain NCHW": forward(plain), "optimized": forward(fast)}
    first = {name: seconds_per_call(call, device=device, steps=1, warmup=0) for name, call in calls.items()}
    flops = count_flops(calls["plain NCHW"])
    references = []
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        references.append(reference_conv_rate(device, dtype, steps=2, backward=False))
        for name, call in calls.items():
            best[name] = min(best[name], seconds_per_call(call, device=device, steps=1, warmup=0))
    reference = max(references, key=lambda rate: rate.flops_per_second)
    plain_output = calls["plain NCHW"]().float()
    rows = []
    for name, call in calls.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        difference = (call().float() - plain_output).abs().max().item()
        memory = f"{(torch.cuda.max_memory_allocated(device) - before) / 2**30:.2f} GiB" if device.type == "cuda" else ""
        rate = flops / best[name]
        rows.append(
            f"| {device.type} {str(dtype).removeprefix('torch.')} | {name} | {size}² | {best[name] * 1e3:.1f} | "
            f"{rate / 1e9:.1f} | {rate / reference.flops_per_second:.1%} | "
            f"{best['plain NCHW'] / best[name]:.2f}x | {(size * SCALE) ** 2 / 1e6 / best[name]:.3f} | "
            f"{difference:.1e} | {memory} | {first[name]:.2f} |"
        )
    notes = [
        f"reference {device.type}: {reference.describe()}",
        f"{flops / size**2 / 1e6:.1f} MFLOP per LR pixel; optimized setup: layout conversion {convert * 1e3:.0f} ms, "
        "then the first pass (last column: oneDNN / cuDNN choose and build their kernels)",
    ]
    return rows, notes


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


def benchmark_device(device: str, *, quick: bool, budget: float, optimize: bool) -> tuple[list[str], list[str]]:
    """Table rows and skipped cases of one device."""
    sizes = LR_SIZES[:1] if quick else LR_SIZES
    rows, skipped = [], []
    started = time.perf_counter()
    for network in NETWORKS:
        rate, auto = calibrate(Case(device, network, 0, None, optimize))
        bare = f"{CALIBRATION_SIZE[device]}² bare pass"
        rows.append(f"| {device} | {network} | {bare} | | | | | {rate * SCALE**2 / 1e6:.3f} | |")
        for size in sizes:
            tiles = [None] + ([] if quick or size != sizes[0] else list(FIXED_TILES[device]))
            for tile in tiles:
                case = Case(device, network, size, tile, optimize)
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
    parser.add_argument("--no-optimize", action="store_true", help="tiled table with the plain NCHW forward")
    parser.add_argument("--pass-only", action="store_true", help="only the network-pass comparison, no tiled table")
    parser.add_argument("--pass-size", type=int, help="LR size of the network pass (default 64 on a CPU, 512 on CUDA)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of the network-pass comparison (default 3)")
    parser.add_argument(
        "--precision", nargs="+", choices=("fp16", "bf16", "fp32"), default=["fp16"],
        help="CUDA autocast types of the network pass (default fp16; the CPU computes in fp32)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(Case(**json.loads(args.case)))))
        return
    if args.device == "auto":
        devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    else:
        devices = [args.device]
    print("Full network, one pass (best of interleaved rounds; utilisation = FLOP rate / reference conv's):")
    print("| device | forward | LR | ms | GFLOP/s | utilisation | vs plain | output MP/s | max abs diff "
          "| peak GPU memory | first pass s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for device in devices:
        dtypes = [PRECISIONS[name] for name in args.precision] if device == "cuda" else [torch.float32]
        for dtype in dtypes:
            size = args.pass_size or PASS_SIZE[device]
            rows, device_notes = network_pass(torch.device(device), dtype, size, args.rounds)
            print("\n".join(rows), flush=True)
            notes += device_notes
    print("\n".join(notes))
    if args.pass_only:
        return
    budget = args.budget if args.budget is not None else (60 if args.quick else 240)
    name = torch.cuda.get_device_name() if "cuda" in devices else ""
    print(f"x{SCALE} tiled inference, overlap {DEFAULT_OVERLAP}, {torch.get_num_threads()} CPU threads {name}".rstrip())
    print("| device | network | LR | output MP | tile | seconds | predicted s | MP/s | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    all_skipped = []
    for device in devices:
        rows, skipped = benchmark_device(device, quick=args.quick, budget=budget, optimize=not args.no_optimize)
        print("\n".join(rows), flush=True)
        all_skipped += skipped
    for line in all_skipped:
        print(f"skipped: {line}")


if __name__ == "__main__":
    main()
