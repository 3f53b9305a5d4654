"""Stage-2 samples: a training pair, a real-LR patch and an unpaired HR patch per index.

Each role draws from its own random stream, so that no role's draws depend on another's, nor on
whether another role is sampled at all. That matters because the pairs' HR and the unpaired HR
are usually cut from the same HR files: with one stream they would be the same crops, and the
target-domain discriminator would see the very HR patches the content loss supervises.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from dasr.data.paired import Pair, PairSource
from dasr.data.unpaired import ArrayCache, PatchOptions, PatchSource

_PAIRS, _REAL_LR, _UNPAIRED_HR = 0, 1, 2


class Stage2Patches(Dataset):
    """Sample ``i`` of stage 2 (P = ``options.hr_patch``, p = P / scale), float32 in [0, 1]:

    - ``pair_lr`` (3, p, p), ``pair_hr`` (3, P, P), ``pair_weight`` (1, p, p): with ``pairs``
      (generated pairs and their maps times ``pair_weight_scale``, or real pairs with a weight
      of ones);
    - ``pair_hr`` (3, P, P) only: with ``pair_hr_paths`` (``srn.pairs=bicubic``: the trainer
      makes the LR by downscaling on the device);
    - ``real_lr`` (3, p, p): with ``real_lr_paths``; ``unpaired_hr`` (3, P, P): with
      ``unpaired_hr_paths`` (both left out for supervised training on real pairs).

    One cache (``options.cache_mb``, per worker) serves every role, so an HR file used both for
    pairs and as unpaired HR is held once. Batch with ``dasr.data.unpaired.patch_batches``. Endless.
    """

    def __init__(
        self,
        *,
        pairs: Sequence[Pair] | None,
        pair_hr_paths: Sequence[Path] | None,
        real_lr_paths: Sequence[Path] | None,
        unpaired_hr_paths: Sequence[Path] | None,
        options: PatchOptions,
        pair_weight_scale: float = 1.0,
    ) -> None:
        if (pairs is None) == (pair_hr_paths is None):
            raise ValueError("give exactly one of pairs and pair_hr_paths (bicubic pairs)")
        cache = ArrayCache(options.cache_mb * 2**20)
        self._pairs = None if pairs is None else PairSource(pairs, _PAIRS, options, cache, pair_weight_scale)
        # key -> (paths, label in warnings, patch size, stream), for the roles that are sampled.
        roles = {
            "pair_hr": (pair_hr_paths, "HR", options.hr_patch, _PAIRS),
            "real_lr": (real_lr_paths, "real LR", options.lr_patch, _REAL_LR),
            "unpaired_hr": (unpaired_hr_paths, "HR", options.hr_patch, _UNPAIRED_HR),
        }
        self._sources = {
            key: PatchSource(paths, label, patch, stream, options, cache)
            for key, (paths, label, patch, stream) in roles.items()
            if paths is not None
        }

    def __len__(self) -> int:
        return sys.maxsize

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample: dict[str, torch.Tensor] = {}
        if self._pairs is not None:
            pair = self._pairs.sample(index)
            sample = {"pair_lr": pair["lr"], "pair_hr": pair["hr"], "pair_weight": pair["weight"]}
        for key, source in self._sources.items():
            sample[key] = source.patch(index)
        return sample
