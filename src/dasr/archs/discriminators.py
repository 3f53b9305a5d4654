"""Patch discriminators of the DSN stage: one logit per patch, "real LR domain" = 1.

Both variants are the same four-convolution stack and differ only in kernel sizes (hence
receptive field) and default normalisation:

- paper (Sec. 3.1): kernels 7, 7, 7, 5 -> receptive field 23x23, no normalisation by default.
- official (released ``codes/DSN/model.py``, ``DiscriminatorBasic``, from FSSR): kernels
  5, 5, 5, 1 -> receptive field 13x13, InstanceNorm by default.

Widths are ``in -> nf -> 2nf -> 4nf -> 1``, stride 1 and ``kernel // 2`` zero padding everywhere,
so the score map has the input's size and score ``(i, j)`` is centred on pixel ``(i, j)``.
Layer indices inside ``net`` follow the released ``DiscriminatorBasic`` (norm slots hold
``nn.Identity`` when ``norm="none"``), so its convolution weights load by name.

The released code applies a sigmoid inside the network; these return logits, so that the losses
can use the numerically stable ``binary_cross_entropy_with_logits``.

Normalisation and tiling: the released ``nn.InstanceNorm2d(c)`` normalises every image by its own
statistics, so a patch's score depends on the whole image it was cut from; the domain-distance
maps of stage 1.5 would then depend on how an image is tiled. Here InstanceNorm keeps running
averages (``track_running_stats=True``): in ``train()`` mode it behaves as the released one, and in
``eval()`` mode it is a fixed per-channel affine map, which makes the whole discriminator a local
operator (tiled scores equal whole-image scores). ``affine=True`` gives it the usual learnable
scale and shift. BatchNorm behaves the same way by construction.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from dasr.archs.inputs import check_image_batch
from dasr.archs.registry import build_arch, register_arch
from dasr.errors import DasrError
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.receptive_field import Geometry, conv_stack_geometry

NORMS = ("none", "instance", "batch")


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class PatchDiscriminator(nn.Module):
    """``conv(k0) LReLU, conv(k1) norm LReLU, conv(k2) norm LReLU, conv(k3)``, stride 1."""

    def __init__(
        self,
        in_channels: int,
        num_features: int,
        norm: str,
        kernel_sizes: tuple[int, int, int, int],
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise DasrError(f"unknown discriminator norm {norm!r}; valid norms: {', '.join(NORMS)}")
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"kernel sizes must be odd to keep scores centred, got {kernel_sizes}")
        self.in_channels = in_channels
        widths = (in_channels, num_features, 2 * num_features, 4 * num_features, 1)

        def conv(index: int) -> nn.Conv2d:
            kernel = kernel_sizes[index]
            return nn.Conv2d(widths[index], widths[index + 1], kernel, padding=kernel // 2)

        self.net = nn.Sequential(
            conv(0),
            nn.LeakyReLU(0.2),
            conv(1),
            _norm_layer(norm, widths[2]),
            nn.LeakyReLU(0.2),
            conv(2),
            _norm_layer(norm, widths[3]),
            nn.LeakyReLU(0.2),
            conv(3),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, 1, H, W)`` for an input ``(N, in_channels, H, W)``."""
        check_image_batch(x, type(self).__name__, self.in_channels)
        return self.net(x)

    def geometry(self) -> Geometry:
        return conv_stack_geometry(self.net)


@register_arch("patch_disc_paper")
class PaperPatchDiscriminator(PatchDiscriminator):
    """The paper's 4-layer patch discriminator, receptive field 23x23."""

    def __init__(self, in_channels: int, num_features: int = 64, norm: str = "none") -> None:
        super().__init__(in_channels, num_features, norm, kernel_sizes=(7, 7, 7, 5))


@register_arch("patch_disc_official")
class OfficialPatchDiscriminator(PatchDiscriminator):
    """The released code's ``DiscriminatorBasic`` (FSSR's), receptive field 13x13."""

    def __init__(self, in_channels: int, num_features: int = 64, norm: str = "instance") -> None:
        super().__init__(in_channels, num_features, norm, kernel_sizes=(5, 5, 5, 1))


def filtered_discriminator(kind: str, filter_kind: str, *, num_features: int, norm: str) -> tuple[FrequencyFilter, nn.Module]:
    """The frequency filter ``filter_kind`` and the patch discriminator ``kind`` (``paper`` or
    ``official``, the values of ``dsn.discriminator`` and ``srn.discriminator``) that judges its
    output: both stages' GANs are built here, so they cannot pair filter and input width apart."""
    freq_filter = FrequencyFilter(filter_kind)
    discriminator = build_arch(
        f"patch_disc_{kind}", in_channels=freq_filter.out_channels(3), num_features=num_features, norm=norm
    )
    return freq_filter, discriminator


def judge_real_and_fake(
    forward: Callable[[Tensor], Tensor], discriminator: nn.Module, real: Tensor, fake: Tensor
) -> tuple[Tensor, Tensor]:
    """The logits of ``forward`` (the discriminator, behind its filter) for ``real`` and
    ``fake``: in one forward over both batches when that is exact, i.e. the patches have the
    same size and ``discriminator`` has no normalisation layer (BatchNorm mixes samples, and
    InstanceNorm's running statistics would be updated once instead of twice); otherwise two."""
    normalised = any(isinstance(module, nn.modules.batchnorm._NormBase) for module in discriminator.modules())
    if normalised or real.shape[1:] != fake.shape[1:]:
        return forward(real), forward(fake)
    real_logits, fake_logits = forward(torch.cat([real, fake])).split([len(real), len(fake)])
    return real_logits, fake_logits
