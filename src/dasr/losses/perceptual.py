"""Feature-space (perceptual) losses: VGG-19 features (the paper) or LPIPS-Alex (released code).

Both compare images through a frozen ImageNet network. Its weights come from torchvision's cache
(``torch.hub.get_dir()/checkpoints``) or a local file; when they are missing and cannot be
downloaded, a :class:`~dasr.errors.DasrError` names the file to provide and the options that
avoid it, because a training run must not start with a silently random feature network.

Stage 2 weights the feature differences with the domain-distance map resized to each feature
map (Eq. 6), so both losses accept the same optional ``weight`` as the pixel loss.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn
from torchvision.models import AlexNet_Weights, VGG19_Weights
from torchvision.models._api import WeightsEnum
from torchvision.models.vgg import cfgs, make_layers

from dasr.archs.state_dict import fit_state_dict
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint
from dasr.losses.content import _check_pair, weighted_mean
from dasr.weights.public import hub_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg19_conv_positions() -> dict[str, tuple[int, int]]:
    """``conv<block>_<n>`` -> (index in torchvision's ``vgg19().features``, number of entries of
    its layer configuration up to that conv). ``make_layers`` turns each number of the
    configuration into conv + ReLU and each ``"M"`` into a max-pool."""
    positions: dict[str, tuple[int, int]] = {}
    index, block, conv = 0, 1, 0
    for entries, entry in enumerate(cfgs["E"], start=1):
        if entry == "M":
            block, conv, index = block + 1, 0, index + 1
        else:
            conv += 1
            positions[f"conv{block}_{conv}"] = (index, entries)
            index += 2
    return positions


_VGG19_POSITIONS = _vgg19_conv_positions()
VGG19_LAYERS = {name: index for name, (index, _) in _VGG19_POSITIONS.items()}
"""The VGG-19 layers :class:`VGGFeatures` can stop at, with their index in ``features``."""


def _ensure_cached(weights: WeightsEnum, what: str, alternatives: str) -> None:
    """Put torchvision's ``weights`` file in the torch hub cache, downloading it once if missing.

    The cache is checked first so that an offline machine with the file in place never touches
    the network; a failed download becomes a one-line ``DasrError`` naming the fix.
    """
    path = hub_file(weights.url)
    directory = path.parent
    if not path.is_file():
        hash_match = torch.hub.HASH_REGEX.search(path.name)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(
                weights.url, str(path), hash_match.group(1) if hash_match else None, progress=False
            )
        except OSError as exc:  # URLError, timeouts and SSL errors are all OSErrors
            reason = " ".join(str(exc).split())
            raise DasrError(
                f"{what} are not available offline ({reason}): put {path.name} in {directory}, {alternatives}"
            ) from exc


def _load_vgg19_features(state: dict, source: object, features: nn.Sequential) -> None:
    """Fill the (truncated) ``features`` from a full ``vgg19`` or a ``vgg19().features`` state
    dict; layers after the truncation point are ignored."""
    if any(key.startswith("features.") for key in state):
        state = {
            key.removeprefix("features."): value
            for key, value in state.items()
            if key.startswith("features.")
        }
    fit_state_dict(features, state, f"VGG-19 weights file '{source}'", ignore_unexpected=True,
                   network="VGG-19 features")


class _FrozenNetwork(nn.Module):
    """A fixed pretrained network inside a loss: no gradients for its parameters, and it stays
    in eval mode when the model holding the loss calls ``train()`` (LPIPS has dropout)."""

    def _freeze(self) -> None:
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> _FrozenNetwork:
        return super().train(False)


class VGGFeatures(_FrozenNetwork):
    """VGG-19 ``features`` up to the convolution ``layer``, before its ReLU (ESRGAN's choice:
    pre-activation features are denser and keep brightness information that ReLU discards).

    Inputs are RGB in [0, 1]; the ImageNet normalisation is applied here.

    ``weights``: ``"imagenet"`` = torchvision's ``VGG19_Weights.IMAGENET1K_V1`` from the torch
    hub cache (downloaded once if possible), a path = a local full-``vgg19`` or ``features``-only
    state dict, ``None`` = random initialisation (tests only: random features are no
    perceptual measure). ``section``: the configuration section (``dsn``, ``srn``) that error
    messages tell the user to change.
    """

    def __init__(
        self,
        layer: str = "conv5_4",
        weights: Literal["imagenet"] | str | os.PathLike | None = "imagenet",
        *,
        section: str = "dsn",
    ) -> None:
        super().__init__()
        if layer not in VGG19_LAYERS:
            raise DasrError(f"unknown VGG-19 layer {layer!r}; choose one of {', '.join(VGG19_LAYERS)}")
        self.layer = layer
        # Only the layers up to ``layer`` are built (initialising all of VGG-19 is slow); the
        # trailing ReLU is dropped. Module indices equal those of the full ``features``.
        self.features = make_layers(cfgs["E"][: _VGG19_POSITIONS[layer][1]])[:-1]
        if weights == "imagenet":
            imagenet = VGG19_Weights.IMAGENET1K_V1
            _ensure_cached(
                imagenet,
                "VGG-19 weights for the perceptual loss",
                f"or set {section}.vgg_weights=PATH, or switch the loss off with --set {section}.perceptual=none",
            )
            # torchvision reads its cached file (old serialisation formats included).
            state = imagenet.get_state_dict(progress=False, weights_only=True)
            _load_vgg19_features(state, imagenet.url, self.features)
        elif weights is not None:
            _load_vgg19_features(load_checkpoint(weights, "VGG-19 weights file"), weights, self.features)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._freeze()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG features need RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
        return self.features((x - self.mean) / self.std)


class PerceptualLoss(nn.Module):
    """``mean(w_f * |phi(pred) - phi(target)|)`` with ``phi`` a frozen feature extractor and
    ``w_f`` the weight map resized bilinearly to the feature map (Eq. 6; see
    :func:`~dasr.losses.content.weighted_mean` for the normalisation). No weight: plain L1 mean
    (Eq. 2 of stage 1)."""

    def __init__(self, feature_extractor: nn.Module) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        _check_pair(pred, target)
        difference = (self.feature_extractor(pred) - self.feature_extractor(target)).abs()
        return weighted_mean(difference, weight)


class LPIPSLoss(_FrozenNetwork):
    """LPIPS (Zhang et al. 2018) with the AlexNet trunk and v0.1 linear calibration, the
    released DASR code's perceptual loss and the paper's evaluation metric.

    Inputs are RGB in [0, 1], scaled to [-1, 1] as LPIPS expects. Without ``weight`` the value is
    the batch mean of the ``lpips`` package's distance; with one, each layer's distance map is
    weighted by the map resized to that layer (as :class:`PerceptualLoss` does) before its mean.

    ``backbone_weights``: ``"imagenet"`` = torchvision's AlexNet weights from the torch hub cache
    (downloaded once if possible); ``None`` = random trunk (tests only). The linear layers ship
    with the ``lpips`` package. ``section``: as for :class:`VGGFeatures`.
    """

    def __init__(self, backbone_weights: Literal["imagenet"] | None = "imagenet", *, section: str = "dsn") -> None:
        super().__init__()
        alternatives = f"or use another loss with --set {section}.perceptual=vgg19|none"
        try:
            import lpips
        except ImportError:
            raise DasrError(
                f"the LPIPS loss needs the lpips package: pip install lpips, {alternatives}"
            ) from None
        if backbone_weights not in ("imagenet", None):
            raise DasrError(f"LPIPS backbone weights must be 'imagenet' or None, got {backbone_weights!r}")
        if backbone_weights == "imagenet":
            # Put the file in torchvision's cache so that lpips' own loading finds it there.
            _ensure_cached(AlexNet_Weights.IMAGENET1K_V1, "AlexNet weights for the LPIPS loss", alternatives)
        with warnings.catch_warnings():  # lpips uses torchvision's deprecated ``pretrained=`` API
            warnings.simplefilter("ignore", UserWarning)
            self.lpips = lpips.LPIPS(
                net="alex", version="0.1", pnet_rand=backbone_weights is None, verbose=False
            )
        self._normalize = lpips.normalize_tensor
        self._freeze()

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        _check_pair(pred, target)
        if pred.dim() != 4 or pred.shape[1] != 3:
            raise ValueError(f"LPIPS needs RGB images (N, 3, H, W), got shape {tuple(pred.shape)}")
        features_pred = self.lpips.net(self.lpips.scaling_layer(2 * pred - 1))
        features_target = self.lpips.net(self.lpips.scaling_layer(2 * target - 1))
        total = pred.new_zeros(())
        for linear, a, b in zip(self.lpips.lins, features_pred, features_target, strict=True):
            total = total + weighted_mean(linear((self._normalize(a) - self._normalize(b)) ** 2), weight)
        return total


def lpips_unavailable_reason() -> str | None:
    """Why :class:`LPIPSLoss` cannot be built offline here, or None when its parts are on disk.

    Its weights come in two parts, the AlexNet trunk in torch's hub cache and the linear layers
    inside the ``lpips`` package; both are looked for before the network is built, so metrics
    that must not download (``dasr eval``, training validation) can skip LPIPS in one line.
    """
    try:
        import lpips
    except ImportError:
        return "the lpips package is not installed (pip install lpips)"
    linear = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
    if not linear.is_file():
        return f"the lpips package lacks its linear layers {linear}"
    trunk = hub_file(AlexNet_Weights.IMAGENET1K_V1.url)
    if not trunk.is_file():
        return f"AlexNet weights are not available offline: put {trunk.name} in {trunk.parent}"
    return None


def build_perceptual_loss(
    kind: Literal["vgg19", "lpips", "none"],
    layer: str = "conv5_4",
    weights: str | os.PathLike | None = None,
    *,
    section: str = "dsn",
) -> nn.Module | None:
    """The perceptual loss the configuration names (``<section>.perceptual``,
    ``<section>.perceptual_layer``, ``<section>.vgg_weights`` with ``section`` ``dsn`` or
    ``srn``, which error messages name), or ``None`` for ``"none"``. Every returned module is
    called as ``loss(pred, target, weight=None)``.

    ``weights`` follows the configuration: ``None`` (or ``"imagenet"``) = the standard ImageNet
    weights, a path = a local VGG-19 state dict. There is deliberately no way to get random
    weights here: a run must never train against a random feature network (tests build
    :class:`VGGFeatures` / :class:`LPIPSLoss` directly). LPIPS ignores ``layer`` and refuses a
    VGG-19 file rather than ignoring it.
    """
    pretrained = "imagenet" if weights is None else weights
    if kind == "vgg19":
        return PerceptualLoss(VGGFeatures(layer, pretrained, section=section))
    if kind == "lpips":
        if pretrained != "imagenet":
            raise DasrError(f"{section}.vgg_weights={weights} applies to {section}.perceptual=vgg19, not lpips")
        return LPIPSLoss("imagenet", section=section)
    if kind == "none":
        return None
    raise DasrError(f"unknown perceptual loss {kind!r}; choose one of vgg19, lpips, none")
