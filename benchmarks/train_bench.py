"""The shared harness of the training-speed benchmarks (train_dsn_speed.py, train_srn_speed.py).

For one stage and preset it reports, in the same process:

- per variant (``train.channels_last`` and ``train.compile`` off and on, under the ``train.amp``
  precision, all applied by the trainers' own code): ms/step, it/s, achieved TFLOP/s and the
  utilisation = achieved FLOP/s / the FLOP/s of a large 64->64 3x3 convolution (``flops.py``),
  on batches already on the device, so the figure is the step itself (networks, losses,
  optimizers);
- data loading: the fraction of the iteration spent waiting for the next batch when the fastest
  variant trains on image files read through the trainers' own dataset and ``patch_batches``
  loader with ``data.num_workers`` workers, as ``dasr train-*`` runs it.

A stage module supplies a :class:`Stage`; everything else (options, variants, AMP, FLOPs, the
data measurement, the table and ``--json``) lives here once.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import torch
from flops import count_flops, reference_conv_rate
from image_sets import ImageSets, image_sets
from table import Column, format_table, write_json
from timing import peak_memory_gib, seconds_per_call, synchronize
from torch import Tensor, nn
from torchvision.models import VGG19_Weights

from dasr.config.loader import load_config
from dasr.config.schema import Config
from dasr.engine.acceleration import memory_format
from dasr.engine.device import select_device, set_determinism
from dasr.engine.precision import Precision, resolve_precision
from dasr.losses.perceptual import (
    PerceptualLoss,
    VGGFeatures,
    build_perceptual_loss,
)
from dasr.weights.public import hub_file

Batch = dict[str, Tensor]
Step = Callable[[Batch], object]


@dataclass(frozen=True)
class Variant:
    """How the networks run: ``train.channels_last`` and ``train.compile``, each on or off.

    A variant is a pair of configuration overrides, applied by the trainers' own code
    (``dasr.engine.acceleration``), so the benchmark measures what ``--set`` gives users.
    """

    channels_last: bool = False
    compile: bool = False
    graphs: bool = False
    """``train.compile_mode=reduce-overhead``: the compiled networks replayed as CUDA graphs."""

    @classmethod
    def parse(cls, name: str) -> Variant:
        """``eager``, or ``+``-joined ``channels_last``, ``compile``, ``graphs`` (compile with CUDA
        graphs), e.g. ``channels_last+graphs``."""
        if name == "eager":
            return cls()
        parts = set(name.split("+"))
        if not parts <= {"channels_last", "compile", "graphs"}:
            raise argparse.ArgumentTypeError(
                f"unknown variant {name!r}: use eager or channels_last, compile, graphs joined by +"
            )
        graphs = "graphs" in parts
        return cls(channels_last="channels_last" in parts, compile=graphs or "compile" in parts, graphs=graphs)

    @property
    def name(self) -> str:
        parts = (("channels_last", self.channels_last), ("graphs", self.graphs), ("compile", self.compile and not self.graphs))
        return "+".join(part for part, wanted in parts if wanted) or "eager"

    def overrides(self) -> list[str]:
        return [f"train.channels_last={str(self.channels_last).lower()}", f"train.compile={str(self.compile).lower()}",
                f"train.compile_mode={'reduce-overhead' if self.graphs else 'default'}"]


@dataclass
class Built:
    """One stage's trainer, built for a variant."""

    step: Step
    """One adversarial iteration on a batch on the device."""
    parts: dict[str, Step] = field(default_factory=dict)
    """Pieces of the step timed alone (forward + backward), to show where the time goes."""


class Stage(Protocol):
    """What a stage benchmark supplies to the harness."""

    name: str

    def configure(self, config: Config) -> Config:
        """The settings the stage's ``dasr train-*`` command would really train with."""

    def describe(self, config: Config) -> str:
        """One line of the settings that decide the step's cost."""

    def batch_size(self, config: Config) -> int: ...

    def patch_size(self, config: Config) -> int:
        """The HR patch size of a sample."""

    def iterations(self, config: Config) -> int:
        """The stage's iterations in ``config`` (pre-training included)."""

    def build(self, config: Config, device: torch.device) -> Built:
        """The trainer as ``dasr train-*`` builds it (``train.*`` acceleration, precision)."""

    def synthetic_batch(self, config: Config, device: torch.device) -> Batch:
        """A random batch with the shapes of the stage's dataset samples, on the device."""

    def real_batches(self, config: Config, images: ImageSets, workdir: Path) -> Iterator[Batch]:
        """Batches read from ``images`` by the stage's dataset and ``patch_batches`` loader."""


def benchmark_perceptual(kind: str, layer: str, weights: str | None, section: str) -> nn.Module | None:
    """The configured perceptual loss; VGG-19 with random weights when its ImageNet weights are
    not on this machine (its cost does not depend on the weights, and the benchmark must not
    try a download that an offline machine may hang on)."""
    if _random_vgg(kind, weights):
        return PerceptualLoss(VGGFeatures(layer, weights=None))
    return build_perceptual_loss(kind, layer, weights, section=section)  # type: ignore[arg-type]


def perceptual_note(kind: str, weights: str | None) -> str:
    if _random_vgg(kind, weights):
        return "vgg19 (random weights: the ImageNet file is not on this machine; timing is the same)"
    return kind


def run(stage: Stage, description: str) -> dict[str, object]:
    """Parse the command line, measure, print the tables; returns the figures (also ``--json``)."""
    args = _parser(description).parse_args()
    overrides = args.overrides + ([f"train.amp={args.amp}"] if args.amp else [])

    def configured(variant: Variant) -> Config:
        return stage.configure(load_config(args.preset, (), overrides + variant.overrides()))

    config = configured(Variant())
    device = select_device(config.device if args.device is None else args.device)
    precision = resolve_precision(config.train.amp, device)
    set_determinism(config.deterministic)  # as the trainers do: cuDNN benchmark mode unless deterministic
    torch.manual_seed(config.seed)
    variants = args.variants or (
        [Variant(), Variant(channels_last=True), Variant(compile=True), Variant(channels_last=True, compile=True)]
        if device.type == "cuda"
        else [Variant(), Variant(channels_last=True)]
    )
    dtype = precision.dtype or torch.float32
    figures: dict[str, object] = {
        "benchmark": stage.name,
        "preset": args.preset,
        "overrides": overrides,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "settings": stage.describe(config),
        "amp": f"train.amp={config.train.amp}: {_precision_note(precision)}",
        "torch": torch.__version__,
    }
    print(f"{stage.name}, preset {args.preset}, {figures['device']}, torch {torch.__version__}")
    print(f"  {figures['settings']}")
    print(f"  {figures['amp']}")

    # FLOPs are counted on an uncompiled build: compiled kernels are invisible to the counter.
    batch = stage.synthetic_batch(config, device)
    eager = stage.build(config, device)
    flops = count_flops(partial(eager.step, batch))
    reference = reference_conv_rate(device, dtype)
    figures["flops_per_step"] = flops
    figures["reference"] = {**asdict(reference), "dtype": str(reference.dtype)}
    print(f"  {flops / 1e9:.1f} GFLOP per step (convolutions and matrix products, forward + backward)")
    print(f"  reference: {reference.describe()}")
    if eager.parts:
        figures["parts"] = _time_parts(eager.parts, batch, device, args.steps)
    del eager

    rows, fastest = [], None
    for variant in variants:
        variant_config = configured(variant)
        built = stage.build(variant_config, device)
        variant_batch = to_device(batch, variant_config, device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        step = partial(built.step, variant_batch)
        step()  # compiles, with train.compile
        synchronize(device)
        first = time.perf_counter() - start
        seconds = seconds_per_call(step, device=device, steps=args.steps)
        rows.append(
            {
                "variant": variant.name,
                "ms_per_step": seconds * 1000,
                "it_per_s": 1 / seconds,
                "tflop_per_s": flops / seconds / 1e12,
                "utilisation_pct": 100 * flops / seconds / reference.flops_per_second,
                "first_step_s": first,
                "peak_gib": peak_memory_gib(device),
            }
        )
        if fastest is None or seconds < fastest[0]:
            fastest = (seconds, variant.name, variant_config, built.step)
    baseline = rows[0]["ms_per_step"]
    schedule = load_config(SCHEDULE_PRESET)
    iterations = stage.iterations(stage.configure(schedule))
    for row in rows:
        row["speedup"] = baseline / row["ms_per_step"]
        # An upper bound: the content-only pre-training iterations cost less than a full step.
        row[f"{SCHEDULE_PRESET}_stage_h"] = iterations * row["ms_per_step"] / 3.6e6
    figures["schedule"] = {"preset": SCHEDULE_PRESET, "iterations": iterations}
    figures["variants"] = rows
    print(
        format_table(
            rows,
            [
                Column("variant", "variant"),
                Column("ms_per_step", "ms/step", ".1f"),
                Column("it_per_s", "it/s", ".2f"),
                Column("speedup", f"vs {rows[0]['variant']}", ".2f"),
                Column("tflop_per_s", "TFLOP/s", ".3f"),
                Column("utilisation_pct", "util %", ".1f"),
                Column("first_step_s", "1st step s", ".1f"),
                Column("peak_gib", "peak GiB", ".2f"),
                Column(f"{SCHEDULE_PRESET}_stage_h", f"{SCHEDULE_PRESET} h", ".2f"),
            ],
        )
    )
    print(f"  {SCHEDULE_PRESET} h: this stage's {iterations} iterations of the {SCHEDULE_PRESET} schedule at this "
          "step time (pre-training counted as full steps: an upper bound); the whole schedule adds the other "
          "stage's benchmark and generation (maps_speed.py)")
    if "parts" in figures:
        print("  where the time goes (eager, each part alone):")
        print(format_table(figures["parts"], [Column("part", "part"), Column("ms", "ms", ".1f")]))

    if not args.no_data:
        assert fastest is not None
        _, name, variant_config, step = fastest
        figures["data"] = _data_wait(stage, variant_config, args, name, step, device)
    if args.json:
        write_json(args.json, figures)
    return figures


SCHEDULE_PRESET = "aim2019-x4"
"""The paper's schedule the step times are turned into hours for (issue 15's target: under 2 h)."""


def to_device(batch: Batch, config: Config, device: torch.device) -> Batch:
    """A loader batch on the device as the trainers copy it (in the ``train.channels_last``
    layout)."""
    layout = memory_format(config.train, device)
    return {name: tensor.to(device, non_blocking=True, memory_format=layout) for name, tensor in batch.items()}


@dataclass(frozen=True)
class LoaderWait:
    """Iterations on batches read from files, split into waiting for data and the rest."""

    phase: str
    steps: int
    ms_per_step: float
    wait_ms_per_step: float

    @property
    def wait_pct(self) -> float:
        return 100 * self.wait_ms_per_step / self.ms_per_step


def loader_wait(
    batches: Iterator[Batch], step: Callable[[Batch], object], device: torch.device, *, warmup: int, steps: int
) -> list[LoaderWait]:
    """Time ``step(next(batches))``: first the ``warmup`` iterations (worker start-up and first
    decodes, which the cache then saves), then ``steps`` steady ones. The wait is the time
    ``next`` blocks: with CUDA the step only queues kernels, so batches the workers prepare
    while the device computes are not counted, exactly as in training."""
    phases = []
    for phase, count in (("first", warmup), ("steady", steps)):
        synchronize(device)
        waited, start = 0.0, time.perf_counter()
        for _ in range(count):
            asked = time.perf_counter()
            batch = next(batches)
            waited += time.perf_counter() - asked
            step(batch)
        synchronize(device)
        total = time.perf_counter() - start
        phases.append(LoaderWait(phase, count, 1000 * total / count, 1000 * waited / count))
    return phases


def warmup_batches(images: ImageSets, batch_size: int, num_workers: int) -> int:
    """Batches after which every loader worker has decoded (and cached) about every image:
    each worker takes every ``num_workers``-th batch, and an epoch of ``n`` images spans
    ``n / batch_size`` batches."""
    return math.ceil(max(len(images.hr), len(images.lr)) / batch_size) * max(num_workers, 1) + 1


def _data_wait(
    stage: Stage, config: Config, args: argparse.Namespace, variant: str, step: Step, device: torch.device
) -> dict[str, object]:

    """The loader measurement of :func:`run`, on ``--hr``/``--lr`` or synthetic images."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        images = image_sets(args.hr, args.lr, workdir)
        batches = stage.real_batches(config, images, workdir)
        workers = config.data.num_workers
        phases = loader_wait(
            batches,
            lambda batch: step(to_device(batch, config, device)),
            device,
            warmup=warmup_batches(images, stage.batch_size(config), workers),
            steps=args.data_steps,
        )
        del batches  # stops the worker processes
    rows = [{**asdict(phase), "wait_pct": phase.wait_pct} for phase in phases]
    print(
        f"  data loading ({variant} step, {images.source}; "
        f"data.num_workers {workers}, data.cache_mb {config.data.cache_mb} per worker):"
    )
    print(
        format_table(
            rows,
            [
                Column("phase", "iterations"),
                Column("steps", "steps"),
                Column("ms_per_step", "ms/step", ".1f"),
                Column("wait_ms_per_step", "waiting ms", ".1f"),
                Column("wait_pct", "waiting %", ".1f"),
            ],
        )
    )
    return {"images": images.source, "num_workers": workers, "cache_mb": config.data.cache_mb,
            "variant": variant, "phases": rows}


def _time_parts(parts: dict[str, Step], batch: Batch, device: torch.device, steps: int) -> list[dict[str, object]]:
    return [
        {"part": name, "ms": 1000 * seconds_per_call(lambda: part(batch), device=device, steps=steps)}
        for name, part in parts.items()
    ]


def _precision_note(precision: Precision) -> str:
    if precision.dtype is None:
        return "float32 (convolutions in TF32 on CUDA unless disabled)" if precision.device_type == "cuda" else "float32"
    name = str(precision.dtype).removeprefix("torch.")
    return f"network forwards in {name} autocast" + (", loss scaling" if precision.scale_losses else "")


def _random_vgg(kind: str, weights: str | None) -> bool:
    return kind == "vgg19" and weights is None and not hub_file(VGG19_Weights.IMAGENET1K_V1.url).is_file()


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", help="default: the config's device (auto: CUDA when available)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per variant (after warm-up)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument(
        "--variants",
        type=lambda text: [Variant.parse(name) for name in text.split(",")],
        help="comma-separated: eager, or channels_last, compile, graphs (compile with CUDA graphs) joined by +, "
        "e.g. channels_last+graphs (default: eager, channels_last and both with compile on CUDA, "
        "eager,channels_last on a CPU, where compiling takes minutes)",
    )
    parser.add_argument(
        "--amp", choices=("auto", "bf16", "fp16", "fp32"), help="sets train.amp (default: the config's, auto)"
    )
    parser.add_argument("--hr", type=Path, help="HR image folder for the data-loading measurement")
    parser.add_argument("--lr", type=Path, help="real-LR image folder (default: synthetic images)")
    parser.add_argument("--data-steps", type=int, default=10, help="steady iterations timed on files")
    parser.add_argument("--no-data", action="store_true", help="skip the data-loading measurement")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also save the figures as JSON")
    return parser
