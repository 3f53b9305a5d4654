"""Data-parallel training over several processes started by ``torchrun`` (one per GPU).

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`process_group` joins the
job for the duration of a command (NCCL on CUDA, process ``LOCAL_RANK`` on ``cuda:LOCAL_RANK``;
gloo on the CPU), also with one process, so that ``--nproc_per_node 1`` checks the whole path on
one GPU. Without ``torchrun`` every helper here is a no-op and a run is the plain single-process
run.

What stays identical on all processes, and why:

- The global batch. Batch ``b`` is still sample indices ``[b * B, (b + 1) * B)`` of the run; each
  process takes its contiguous ``B / world_size`` of them. Averaging the gradients (DDP) then
  gives the gradient of the single-process batch, and a resumed run may use another number of
  processes, since the data position is the iteration alone.
- Every decision that changes the weights (skip a NaN step, stop on Ctrl-C): they are reduced
  over the processes first, or the replicas would silently train apart.

What differs: the torch/numpy/python random generators. Process 0 keeps the run's stream (the one
checkpoints save and restore, so that one process repeats an uninterrupted run exactly); process
``r > 0`` reseeds from ``(seed, r, first iteration)``, so processes never draw the same numbers,
and a resumed process does not replay the draws it made from iteration 0.

Process 0 alone writes files; others wait at :func:`barrier` where they must read what it wrote.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from dasr.engine.device import select_device
from dasr.errors import DasrError

CONTROL_TIMEOUT = timedelta(hours=2)
"""How long a process waits at a barrier or a stop vote: long, because the others may be waiting
for process 0 to validate or to generate the stage-1.5 pairs of a large data set."""

_control_group: dist.ProcessGroup | None = None
"""A gloo group for the small host-side votes and barriers; ``None`` = the default group (gloo
already, or no process group). With NCCL it keeps a per-iteration vote off the GPU stream."""


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_main_process() -> bool:
    """Whether this process writes files, logs and progress bars (rank 0)."""
    return rank() == 0


@contextmanager
def process_group(device: str) -> Iterator[None]:
    """Join the ``torchrun`` job for the block and leave it after (a no-op without torchrun).

    ``device`` is the configuration's ``device`` key: CUDA means NCCL and ``cuda:LOCAL_RANK``;
    a fixed ``cuda:N`` cannot hold several processes and is refused.
    """
    global _control_group
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ or dist.is_initialized():
        yield
        return
    target = select_device(device)
    if target.type == "cuda":
        if target.index is not None:
            raise DasrError(f"device '{device}' names one GPU, but torchrun starts one process per GPU; use device=cuda")
        local = int(os.environ["LOCAL_RANK"])
        if local >= torch.cuda.device_count():
            raise DasrError(f"process LOCAL_RANK={local} has no GPU: there are {torch.cuda.device_count()}")
        torch.cuda.set_device(local)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local))
        _control_group = dist.new_group(backend="gloo", timeout=CONTROL_TIMEOUT)
    else:
        dist.init_process_group("gloo", timeout=CONTROL_TIMEOUT)
    try:
        yield
    finally:
        _control_group = None
        dist.destroy_process_group()


def training_device(name: str) -> torch.device:
    """The device of the ``device`` key, for this process: ``cuda:LOCAL_RANK`` under torchrun."""
    device = select_device(name)
    if device.type == "cuda" and dist.is_initialized():
        return torch.device("cuda", torch.cuda.current_device())
    return device


def per_process_batch(batch_size: int, key: str) -> int:
    """The share of the global batch each process computes; the global batch must split evenly."""
    count = world_size()
    if batch_size % count:
        raise DasrError(f"{key}={batch_size} must be divisible by the number of processes ({count})")
    return batch_size // count


def reseed_other_processes(seed: int, first_iteration: int) -> None:
    """Give process ``r > 0`` generators of its own (see the module docstring); process 0 keeps
    the state the run was seeded or resumed with."""
    if rank() == 0:
        return
    words = np.random.SeedSequence([seed, rank(), first_iteration]).generate_state(2)
    value = int(words[0]) << 32 | int(words[1])
    random.seed(value)
    np.random.seed(int(words[0]))
    torch.manual_seed(value)  # also every CUDA device


def barrier() -> None:
    """Wait until every process gets here (e.g. until process 0 has written a file)."""
    if dist.is_initialized():
        dist.barrier(group=_control_group)


def any_process(flag: bool) -> bool:
    """Whether ``flag`` is set on some process: every process gets the same answer."""
    if not dist.is_initialized():
        return flag
    vote = torch.tensor([int(flag)])
    dist.all_reduce(vote, op=dist.ReduceOp.MAX, group=_control_group)
    return bool(vote.item())


def all_processes(flags: torch.Tensor) -> torch.Tensor:
    """``flags`` (booleans on the training device) that hold on every process."""
    if not dist.is_initialized():
        return flags
    reduced = flags.to(torch.int32)
    dist.all_reduce(reduced, op=dist.ReduceOp.MIN)
    return reduced.bool()


def mean_over_processes(values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Scalar tensors (the same names on every process) averaged over the processes, e.g. the
    losses of each process's share of the batch: the mean is the loss of the global batch."""
    if not dist.is_initialized() or not values:
        return dict(values)
    stacked = torch.stack([value.detach().float() for value in values.values()])
    dist.all_reduce(stacked)
    return dict(zip(values, stacked / world_size()))


def data_parallel(module: nn.Module) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel when there are several processes.

    DDP averages the gradients of its parameters during ``backward``. Call the wrapper for
    forwards whose gradients train ``module``, and :func:`unwrap` of it otherwise (samples,
    validation, and a forward through a frozen discriminator: DDP would wait for gradients of
    parameters that get none).
    """
    if not dist.is_initialized():
        return module
    device = next(module.parameters()).device
    return nn.parallel.DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside DDP and ``torch.compile`` wrappers, whose state dict has plain names."""
    while True:
        if isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        elif isinstance(getattr(module, "_orig_mod", None), nn.Module):  # torch.compile's wrapper
            module = module._orig_mod
        else:
            return module


def check_replicas(modules: Mapping[str, nn.Module], iteration: int) -> None:
    """Stop with an error when the processes' copies of the weights have drifted apart.

    Each process sends one float64 sum per parameter tensor; they must agree to rounding
    (equal GPUs give equal bits). A drift would mean a decision was taken per process, and
    the checkpoint (process 0's weights) would not be what the others trained.
    """
    if not dist.is_initialized():
        return
    names = [f"{key}.{name}" for key, module in modules.items() for name, _ in module.named_parameters()]
    local = torch.stack(
        [parameter.detach().double().sum() for module in modules.values() for parameter in module.parameters()]
    )
    gathered = [torch.empty_like(local) for _ in range(world_size())]
    dist.all_gather(gathered, local)
    bad = replica_mismatch(gathered, names)
    if bad is not None:
        raise DasrError(f"the processes' weights differ at iteration {iteration} ({bad}); this is a bug in dasr")


def replica_mismatch(fingerprints: list[torch.Tensor], names: list[str]) -> str | None:
    """The first parameter whose fingerprint differs between processes, or ``None``."""
    reference = fingerprints[0].cpu()
    for other in fingerprints[1:]:
        close = torch.isclose(other.cpu(), reference, rtol=1e-6, atol=1e-12)
        if not bool(close.all()):
            return names[int((~close).nonzero()[0])]
    return None
