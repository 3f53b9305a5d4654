"""The Python interface for using a trained model: ``dasr.load_model(path).upscale(image)``.

``upscale`` takes what people have in hand and returns the same kind:

| input | output |
|---|---|
| PIL image, mode L, LA, RGB, RGBA, I;16 (any byte order), I, F | the same mode |
| PIL mode 1 | L; P, PA and other modes: RGB, or RGBA when they hold transparency |
| numpy ``(H, W)`` or ``(H, W, C)``, C = 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA) | the same shape layout |
| numpy uint8 / uint16 / float (values in [0, 1]) | the same dtype (floats clipped to [0, 1]) |
| :class:`dasr.data.image_io.Image` (what ``read_image`` returns) | an ``Image`` of the same bit depth |

Grey images go through the RGB network as three equal channels and come back as the mean of the
three output channels: the output of a grey input is grey up to small colour noise, and the mean
removes that noise without favouring a channel (luma weights are meant for colour images).
Alpha is not seen by the network (it was trained on colour only): it is upscaled with bicubic
interpolation, as Real-ESRGAN does, and reattached. PIL images are upscaled as given: apply
``PIL.ImageOps.exif_transpose`` first to honour an EXIF orientation (``dasr sr`` does).

Precision: on CUDA the network runs under fp16 autocast by default (``precision="bf16"`` for
bfloat16, ``"fp32"`` for none); on the CPU it always runs in fp32, since CPU half precision is
slow or unsupported and a request for it is answered with a warning, not a crash.

Speed: by default the network runs in the channels_last layout (:mod:`dasr.inference.fast`):
1.1x to 1.4x the plain NCHW forward on the CPUs measured, 1.3x on an H100 under fp16 autocast, with
the same outputs up to float rounding; ``optimize=False`` (``dasr sr --no-optimize``) keeps the
plain forward.

An :class:`Upscaler` holds no per-call state, so threads may share one: the network stays in eval
mode, every call runs under ``torch.inference_mode`` and writes no attribute.
"""

from __future__ import annotations

import warnings
from typing import Any, overload

import numpy as np
import torch
from PIL import Image as PILImage

from dasr.archs.rrdbnet import RRDBNet
from dasr.data.image_io import Image, image_to_tensor, tensor_to_pixels, to_rgb
from dasr.engine.device import select_device
from dasr.errors import DasrError
from dasr.files.atomic import PathLike
from dasr.inference.fast import prepare_for_inference
from dasr.inference.loading import load_sr_network
from dasr.ops.blended_tiling import BORDERS, Border, upscale_tiled
from dasr.ops.resize import bicubic_upscale

PRECISIONS = {"auto": None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
"""``precision`` values and their autocast type (``auto``: fp16 on CUDA, fp32 on the CPU)."""

_PIL_NATIVE = {"L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I;16N", "F"}
"""PIL modes whose samples are used as they are (the rest are converted first)."""


class Upscaler:
    """A loaded SR network on its device, ready to upscale images of any size (tiled)."""

    def __init__(
        self,
        network: RRDBNet,
        info: dict[str, Any],
        device: torch.device,
        dtype: torch.dtype,
        *,
        optimize: bool = True,
        border: Border = "reflect",
    ) -> None:
        """Takes ``network`` over: it is moved, put in eval mode and, with ``optimize``, converted
        to the channels_last layout in place (see :func:`prepare_for_inference`). ``border``: see
        :func:`~dasr.ops.blended_tiling.upscale_tiled`."""
        if border not in BORDERS:
            raise DasrError(f"--pad must be one of {', '.join(BORDERS)}, got '{border}'")
        self._border = border
        if network.in_channels != 3 or network.out_channels != 3:
            raise DasrError(
                f"model '{info.get('source')}' maps {network.in_channels} to {network.out_channels} channels; "
                "only RGB models (3 to 3) are supported"
            )
        self._network = prepare_for_inference(network, device, optimize=optimize)
        self._info = dict(info)
        self._optimized = self._network.conv_first.weight.is_contiguous(memory_format=torch.channels_last)
        self._device = device
        self._dtype = dtype

    @property
    def scale(self) -> int:
        """Output size / input size."""
        return self._network.scale

    @property
    def info(self) -> dict[str, Any]:
        """Where the network came from and what it is (see :func:`load_sr_network`), plus the
        ``device``, ``precision`` and whether it runs ``optimized`` (channels_last); a copy, so
        callers cannot change the model's."""
        precision = next(name for name, dtype in PRECISIONS.items() if dtype == self._dtype)
        return {**self._info, "device": str(self._device), "precision": precision, "optimized": self._optimized}

    @overload
    def upscale(self, image: PILImage.Image, *, tile: int | None = None) -> PILImage.Image: ...

    @overload
    def upscale(self, image: np.ndarray, *, tile: int | None = None) -> np.ndarray: ...

    @overload
    def upscale(self, image: Image, *, tile: int | None = None) -> Image: ...

    def upscale(
        self, image: PILImage.Image | np.ndarray | Image, *, tile: int | None = None
    ) -> PILImage.Image | np.ndarray | Image:
        """``image`` super-resolved by :attr:`scale`, as the same kind of image (see the module
        docstring). ``tile`` (input pixels) bounds memory; None picks it from the free memory."""
        if isinstance(image, Image):
            pixels, alpha = self._upscale_planes(image.pixels, image.alpha, tile)
            return Image(pixels=pixels, alpha=alpha, bit_depth=image.bit_depth)
        if isinstance(image, PILImage.Image):
            samples, mode = _pil_samples(image)
            upscaled = self._upscale_array(samples, tile)
            return PILImage.fromarray(upscaled.astype(np.int32) if mode == "I" else upscaled)
        if isinstance(image, np.ndarray):
            return self._upscale_array(image, tile)
        raise DasrError(f"cannot upscale a {type(image).__name__}: give a PIL image, a numpy array or a dasr Image")

    def _upscale_array(self, array: np.ndarray, tile: int | None) -> np.ndarray:
        """uint8 / uint16 / float arrays, ``(H, W)`` or ``(H, W, C)`` with alpha last, in kind."""
        if array.dtype == np.uint8 or array.dtype == np.uint16:
            top = float(np.iinfo(array.dtype).max)
        elif np.issubdtype(array.dtype, np.floating):
            top = 1.0
        else:
            raise DasrError(f"cannot upscale a {array.dtype} array: give uint8, uint16 or float values in [0, 1]")
        samples = array[..., None] if array.ndim == 2 else array
        if samples.ndim != 3 or samples.shape[2] not in (1, 2, 3, 4) or min(samples.shape[:2]) < 1:
            raise DasrError(f"cannot upscale an array of shape {array.shape}: give (H, W) or (H, W, C) with C 1 to 4")
        samples = samples.astype(np.float32) / np.float32(top)
        has_alpha = samples.shape[2] in (2, 4)
        pixels, alpha = self._upscale_planes(
            samples[..., :-1] if has_alpha else samples, samples[..., -1] if has_alpha else None, tile
        )
        result = pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)
        if top != 1.0:
            result = np.rint(result * top)
        result = result.astype(array.dtype)
        return result[..., 0] if array.ndim == 2 else result

    def _upscale_planes(
        self, pixels: np.ndarray, alpha: np.ndarray | None, tile: int | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Float ``(H, W, C)`` colour (C 1 or 3) and ``(H, W)`` alpha in [0, 1], upscaled (and
        clipped to [0, 1]: the network's output is not)."""
        lr = image_to_tensor(to_rgb(pixels))[None]
        sr = upscale_tiled(
            self._network, lr, scale=self.scale, tile=tile, device=self._device, dtype=self._dtype, border=self._border
        )
        output = np.clip(tensor_to_pixels(sr), 0, 1)
        if pixels.shape[2] == 1:
            output = output.mean(axis=2, keepdims=True)
        if alpha is None:
            return output, None
        alpha_sr = bicubic_upscale(torch.from_numpy(np.ascontiguousarray(alpha, np.float32))[None, None], self.scale)
        return output, alpha_sr.clamp(0, 1)[0, 0].numpy()


def load_model(
    path: PathLike,
    *,
    device: str | torch.device = "auto",
    precision: str = "auto",
    optimize: bool = True,
    border: Border = "reflect",
) -> Upscaler:
    """An :class:`Upscaler` for the model at ``path``: our ``model.safetensors``, a ``dasr fit`` or
    ``dasr train-srn`` run folder, a stage-2 checkpoint or any RRDB weights file (BasicSR,
    Real-ESRGAN, ESRGAN, mmsr). ``device``: auto, cpu, cuda or cuda:N; ``precision``: auto, fp32,
    fp16 or bf16 (CUDA only; the CPU always computes in fp32); ``optimize=False``: the plain NCHW
    forward instead of the faster channels_last one; ``border="zero"``: no padding of the image
    border, for the same pixels as BasicSR / Real-ESRGAN inference (``reflect``, the default,
    avoids their darker frame)."""
    if precision not in PRECISIONS:
        raise DasrError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    network, info = load_sr_network(path)
    target = select_device(str(device), "device")
    return Upscaler(network, info, target, _autocast_type(precision, target), optimize=optimize, border=border)


def _autocast_type(precision: str, device: torch.device) -> torch.dtype:
    if device.type == "cpu":
        if precision not in ("auto", "fp32"):
            warnings.warn(f"precision {precision} is not used on the CPU; computing in fp32", stacklevel=3)
        return torch.float32
    return PRECISIONS[precision] or torch.float16


def _pil_samples(image: PILImage.Image) -> tuple[np.ndarray, str]:
    """The samples of a PIL image as uint8 / uint16 / float32, and the mode to return."""
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode == "I":
        return np.clip(np.asarray(image), 0, 65535).astype(np.uint16), "I"
    elif image.mode not in _PIL_NATIVE:  # palette, CMYK, YCbCr, ...
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    samples = np.asarray(image)
    if image.mode.startswith("I;16"):
        return samples.astype(np.uint16), "I;16"  # big-endian views become native
    return samples, image.mode
