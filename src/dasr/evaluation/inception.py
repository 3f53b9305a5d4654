"""Inception-v3 pool features (2048 values per image) for FID/KID, from weights on this machine.

Published FIDs use the TensorFlow FID Inception weights, which ``pytorch-fid`` ports; they are
used when that package is installed and its weight file is in the torch hub cache. Otherwise
torchvision's ImageNet Inception-v3 is used, with a notice: its features differ, so its FIDs
rank methods but cannot be compared with published numbers. Nothing is ever downloaded: an
evaluation must not hang or fail on a machine without network for an optional metric.
Both take the whole image resized to 299x299 (bilinear), values scaled to [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import Inception_V3_Weights, inception_v3

from dasr.weights.public import hub_file

INPUT_SIZE = 299
TORCHVISION_WEIGHTS = Inception_V3_Weights.IMAGENET1K_V1
PYTORCH_FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
"""pytorch-fid's weight file, which it keeps in the torch hub cache next to torchvision's."""


@dataclass(frozen=True)
class FeatureExtractor:
    """``network``: RGB ``(1, 3, H, W)`` in [0, 1] -> ``(1, D)`` features; ``source`` names the
    weights (written to the results); ``notice``: a caveat to show the user, or None."""

    network: Callable[[Tensor], Tensor]
    source: str
    notice: str | None


class _TorchvisionPool(nn.Module):
    """torchvision's Inception-v3 up to the 2048-d average pool, with the FID input scaling
    (what ``transform_input`` does for ImageNet-normalised input, done from [0, 1] directly)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        network.fc = nn.Identity()
        self.network = network.eval()

    def forward(self, image: Tensor) -> Tensor:
        image = F.interpolate(image, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return self.network(2 * image - 1)


def _pytorch_fid(device: torch.device) -> FeatureExtractor | None:
    try:
        from pytorch_fid.inception import InceptionV3
    except ImportError:
        return None
    if not hub_file(TORCHVISION_WEIGHTS.url).with_name(PYTORCH_FID_FILE).is_file():
        return None
    network = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).to(device).eval()  # resizes and scales itself
    return FeatureExtractor(
        lambda image: network(image)[0].flatten(1), "pytorch-fid Inception (TensorFlow FID weights)", None
    )


def _torchvision(device: torch.device) -> FeatureExtractor | None:
    if not hub_file(TORCHVISION_WEIGHTS.url).is_file():
        return None
    network = inception_v3(weights=None, aux_logits=True, init_weights=False)
    network.load_state_dict(TORCHVISION_WEIGHTS.get_state_dict(progress=False, weights_only=True))
    return FeatureExtractor(
        _TorchvisionPool(network).to(device),
        "torchvision Inception-v3 (ImageNet weights)",
        "FID/KID use torchvision's ImageNet Inception weights: fine for ranking, not comparable "
        "with published FIDs (install pytorch-fid and its pt_inception weights for those)",
    )


def load_inception(device: torch.device) -> FeatureExtractor | str:
    """The best extractor available offline, or a one-line reason why there is none."""
    extractor = _pytorch_fid(device) or _torchvision(device)
    if extractor is not None:
        return extractor
    torchvision_file = hub_file(TORCHVISION_WEIGHTS.url)
    return (
        f"no Inception weights available offline: put pytorch-fid's {PYTORCH_FID_FILE} (with pytorch-fid "
        f"installed) or torchvision's {torchvision_file.name} in {torchvision_file.parent}"
    )
