"""The configuration schema: every key a preset, a YAML file or ``--set`` may name.

Dataclasses (not free-form dicts) so that every key has one declared type and default, and so
that unknown keys and wrong types can be reported with the list of valid keys or choices.
``Literal`` types are closed choices. The defaults are the paper's settings (preset ``paper``);
other presets only list what they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class DataConfig:
    """How training patches are read and sampled."""

    num_workers: int = 2
    """DataLoader worker processes; 0 decodes in the training process."""
    augment: bool = True
    """Random flips and 90-degree rotations of every patch (HR and real LR independently)."""
    small_images: Literal["pad", "skip"] = "pad"
    """Images smaller than a patch are reflect-padded, or skipped, with a warning either way."""
    cache_mb: int = 2048
    """Decoded images are kept in memory (per worker) up to this many megabytes."""


@dataclass
class TrainConfig:
    """Bookkeeping shared by the training stages."""

    checkpoint_every: int = 1000
    log_every: int = 100
    sample_every: int = 1000
    val_every: int = 1000
    keep_checkpoints: int = 2
    """Numbered checkpoints kept besides ``last`` (0 keeps only ``last``)."""
    amp: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """Mixed precision of the network forwards on CUDA (losses stay float32): ``auto`` is bf16
    where the GPU computes it natively, else fp16 (with loss scaling); ``fp32`` turns it off
    (not ``off``, which YAML reads as a boolean). The CPU always trains in float32."""
    channels_last: bool | None = None
    """Run the convolutions in the NHWC layout. Unset: on for CUDA, where it measured 1.5x for
    the ``paper`` DSN step and 1.02x for the SRN step on an H100 (bf16), off on a CPU, where
    it was no faster (benchmarks/README.md)."""
    compile: bool = False
    """``torch.compile`` the generator and discriminator for training (the first steps compile)."""
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = "default"
    """``torch.compile``'s mode with ``train.compile``: ``reduce-overhead`` replays each network's
    fixed-shape forward and backward as CUDA graphs, for steps bound by kernel launches (the
    ``paper`` SRN step on 32 x 32 LR patches); it pays once its capture cost is spread over
    enough iterations (``benchmarks/train_srn_speed.py --variants compile+graphs``)."""


@dataclass
class StageConfig:
    """What both trainings share: the adversarial space and discriminator, the perceptual loss,
    the patches, Adam and its schedule, the loss weights and the step guards. Declared once so
    that the two stages cannot drift apart; a stage redeclares only the defaults it changes."""

    filter: Literal["wavelet", "gaussian", "avgpool", "rgb"] = "wavelet"
    """The space the adversarial loss works in: Haar high-frequency bands (WFS, the paper), x -
    Gaussian blur (GBFS), x - 5x5 average, or plain RGB."""
    discriminator: Literal["paper", "official"] = "paper"
    """``paper``: 4-layer patch discriminator, 23x23 receptive field. ``official``: 3 conv5x5 +
    conv1x1, receptive field 13."""
    disc_features: int = 64
    disc_norm: Literal["none", "instance", "batch"] = "none"
    perceptual: Literal["vgg19", "lpips", "none"] = "vgg19"
    perceptual_layer: str = "conv5_4"
    """VGG-19 layer whose pre-activation features are compared (ESRGAN: conv5_4)."""
    vgg_weights: str | None = None
    """A local VGG-19 state dict; by default torchvision's cached ImageNet weights."""
    patch_size: int = 192
    """HR crop size; LR crops are patch_size / scale."""
    batch_size: int = 16
    """Patches per iteration (stage 2: B generated pairs, B real-LR and B unpaired HR patches)."""
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    lr_schedule: Literal["step", "linear"] = "step"
    """``step``: multiply by lr_gamma every lr_step iterations. ``linear``: constant, then a
    linear decay to zero over the last ``lr_decay_iters`` iterations (released code)."""
    lr_step: int = 10000
    lr_gamma: float = 0.5
    lr_decay_iters: int | None = None
    """``linear`` schedule only: the rate falls to zero over this many final iterations;
    ``None`` decays over the second half. Exists because the released code keeps the rate for
    250 of its 400 epochs and decays over the last 150, which is not the midpoint."""
    pretrain_iters: int = 25000
    """Content-only iterations (no discriminator) before the full loss."""
    iters: int = 50000
    """Full-loss iterations after pre-training."""
    content_weight: float = 0.01
    perceptual_weight: float = 1.0
    adversarial_weight: float = 0.0005
    grad_clip: float | None = None
    """Clip the generator's gradient norm to this value; ``None`` = no clipping."""
    max_bad_steps: int = 10
    """Consecutive NaN/Inf steps that are skipped before the run stops with an error."""


@dataclass
class DSNConfig(StageConfig):
    """Stage 1: the down-sampling network, its discriminator and losses (paper, Sec. 3.1)."""

    arch: Literal["paper", "official", "physical"] = "paper"
    """``paper``: conv, residual blocks, bilinear resize, two convs. ``official``: the released
    code's De_resnet (PReLU, stride-2 convs, sigmoid). ``physical``: a learned Gaussian blur,
    bicubic downscale and Poisson-Gaussian noise, optionally JPEG (docs/stage1.md): it cannot
    turn the HR scenes into other scenes, which the free-form networks do when the real LR shows
    few other scenes."""
    input: Literal["hr", "bicubic"] = "hr"
    """``bicubic``: the network sees the bicubic-downscaled HR and keeps its size (Table 1)."""
    num_features: int = 64
    num_blocks: int = 23
    kernel_size: int = 13
    """``physical`` arch only: the support of its learned blur kernel, in HR pixels (odd); 13
    holds a Gaussian of sigma up to about 2 HR pixels."""
    jpeg: bool = False
    """``physical`` arch only: end with a differentiable JPEG (4:2:0) round trip at a learned
    quality, for real LR that was saved as JPEG."""
    jpeg_quality: float | None = None
    """``physical`` arch only: the JPEG round trip at this fixed quality (1-100) instead of a
    learned one, for real LR saved as JPEG at a known quality (its files' quantization tables
    tell it); implies the round trip. The wavelet GAN does not learn the quality
    (docs/stage1.md)."""
    global_residual: bool = True
    """``paper`` arch only: add the bicubic downscale of the input to the output, so the network
    learns the degradation as a residual."""
    content_space: Literal["rgb", "lowpass"] = "rgb"
    """``lowpass``: the content loss compares only the low-frequency part (released code)."""
    val_degradation: str | None = None
    """The real LR's true degradation, when known (a ``dasr degrade`` preset name or config
    file): validation and ``dasr ablate --table 1`` then add it, applied to the validation HR,
    as a reference row and a discriminator probe. Changes no training."""


@dataclass
class SRNConfig(StageConfig):
    """Stage 2: the ESRGAN (RRDBNet) SR network with domain-distance aware training (Sec. 3.2)."""

    num_features: int = 64
    """RRDBNet ``nf``."""
    num_blocks: int = 23
    """RRDBNet ``nb`` (residual-in-residual dense blocks)."""
    growth_channels: int = 32
    """RRDBNet ``gc``."""
    init: str | None = None
    """Weights to start from (``dasr.weights``): ``none`` or null (random), ``builtin:rrdb-small-x4``
    / ``-x2`` (shipped with the package; ``builtin:rrdb-small`` = the configured scale's), a
    public model's name (``RealESRNet_x4plus``, ``RRDB_PSNR_x4``, ...), or a file: our
    checkpoints, BasicSR / Real-ESRGAN / ESRGAN RRDB files."""
    pairs: Literal["generated", "bicubic"] = "generated"
    """Training pairs: DSN(HR) from stage 1.5, or the bicubic downscale of HR (no DSN needed)."""
    adversarial: Literal["target", "source", "none"] = "target"
    """``target``: GAN loss on SR(real LR) vs unpaired HR (Eq. 5, the paper). ``source``: on
    SR(pairs) vs their HR (ESRGAN, FSSR). ``none``: no adversarial loss."""
    weighting: Literal["map", "none"] = "map"
    """``map``: content and perceptual losses weighted by the domain-distance maps (Eq. 6)."""
    map_normalization: Literal["none", "dataset"] = "none"
    """``dataset``: every map divided by the mean of all the training set's maps, so that the maps
    move supervision between regions and images without shrinking it. Raw maps (``none``, the
    paper and the released code) multiply the content and perceptual losses by the average
    realism the DSN's discriminator grants, which sets their balance against the adversarial
    term by how confident that discriminator happened to be."""
    patch_size: int = 128
    lr: float = 2e-4
    adversarial_weight: float = 0.005
    ema_decay: float = 0.999
    """Exponential moving average of the generator weights (saved as ``params_ema``); 0 = off."""


@dataclass
class GenerateConfig:
    """Stage 1.5: writing generated LR images and domain-distance maps."""

    tile: int = 512
    """HR tile size; results do not depend on it, only memory use does."""


@dataclass
class Config:
    """Everything one run needs; saved as ``config.yaml`` in the run folder."""

    scale: Literal[4, 2, 1] = 4
    seed: int = 0
    device: str = "auto"
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``."""
    deterministic: bool = False
    """Deterministic kernels, so that a resumed run repeats an uninterrupted one exactly."""
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    dsn: DSNConfig = field(default_factory=DSNConfig)
    srn: SRNConfig = field(default_factory=SRNConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
