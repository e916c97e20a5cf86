"""The learned denoisers: one adapter over ``models/`` and ``weights/``, registered like any method.

Every weights entry whose file is present when the library is imported (the shipped ones in
``weights/`` and the user's imported ones, see ``weights.py``) is registered as a denoiser of
family ``learned``. A catalog entry whose file is absent is *not* registered (``python -m
denoise_core weights list`` shows it as missing); a present file that fails its sha256 check raises
``WeightsError`` naming the file when the denoiser runs.

The adapter (``Network``) converts numpy ↔ tensor, runs under ``torch.inference_mode``, pads to
the architecture's multiple (reflection), splits large images into overlapping tiles so memory
stays bounded, folds batch norm into the convolutions, and uses CUDA when present. A gray model
denoises a colour image channel by channel; a colour model sees a gray image as three equal
channels.
"""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import registry, weights
from .errors import InvalidParameterError, WeightsError
from .image import check_array
from .models import DnCNN, fuse_batch_norm, run_network
from .registry import FloatParam, register

DEFAULT_GRAY = "drunet_gray_blind"
"""The default learned gray denoiser, the flagship (a small DRUNet-style residual U-Net, above BM3D on BSD68)."""
TILE = 512
OVERLAP = 32
SIGMA_MAX = 75 / 255
VAR_MAX = 0.25
"""The largest speckle variance a multiplicative model is given."""


def device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_threads() -> int:
    """Intra-op CPU threads: ``$DENOISE_WORKBENCH_THREADS`` if set, else torch's default capped at 8."""
    wanted = os.environ.get("DENOISE_WORKBENCH_THREADS")
    threads = int(wanted) if wanted and wanted.isdigit() and int(wanted) > 0 else min(torch.get_num_threads(), 8)
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


def prepare(model: nn.Module) -> nn.Module:
    """An inference copy of ``model``: batch norm folded into convolutions, eval mode, no gradients."""
    if isinstance(model, DnCNN):
        model = fuse_batch_norm(model)
    model = model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _pad(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, h, w


class Network:
    """A loaded network ready for numpy images.

    Parameters
    ----------
    model : nn.Module
        A network from ``models``; it is folded and moved to ``device``.
    tile, overlap : int
        Images larger than ``tile``² are processed in ``tile``-sized pieces that each see ``overlap``
        extra pixels of context on every side.
    """

    def __init__(self, model: nn.Module, *, tile: int = TILE, overlap: int = OVERLAP,
                 target: torch.device | None = None):
        self.device = target or device()
        self.model = prepare(model).to(self.device)
        self.channels = int(getattr(model, "channels", 1))
        self.multiple = int(getattr(model, "multiple", 1))
        self.tile, self.overlap = tile, overlap

    def _forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        padded, h, w = _pad(x, self.multiple)
        return run_network(self.model, padded, sigma)[..., :h, :w]

    def _tiled(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h <= self.tile and w <= self.tile:
            return self._forward(x, sigma)
        out = torch.empty_like(x)
        size, margin = self.tile, self.overlap
        for top in range(0, h, size):
            for left in range(0, w, size):
                y0, x0 = max(top - margin, 0), max(left - margin, 0)
                y1, x1 = min(top + size + margin, h), min(left + size + margin, w)
                piece = self._forward(x[..., y0:y1, x0:x1], sigma)
                bottom, right = min(top + size, h), min(left + size, w)
                out[..., top:bottom, left:right] = piece[..., top - y0:bottom - y0, left - x0:right - x0]
        return out

    def __call__(self, image: np.ndarray, sigma: float = 0.0) -> np.ndarray:
        """Denoise a float32 (H, W) or (H, W, 3) image; returns the same shape, clipped to [0, 1]."""
        image = check_array(image)
        color = image.ndim == 3
        planes = image.transpose(2, 0, 1) if color else image[None]
        if self.channels == 1:
            x = torch.from_numpy(np.ascontiguousarray(planes))[:, None]       # (C, 1, H, W): a batch of planes
        elif color:
            x = torch.from_numpy(np.ascontiguousarray(planes))[None]          # (1, 3, H, W)
        else:
            x = torch.from_numpy(np.repeat(planes, self.channels, axis=0))[None]
        x = x.to(self.device)
        level = torch.full((x.shape[0],), float(sigma), device=self.device)
        with torch.inference_mode():
            y = self._tiled(x, level).clamp_(0, 1).cpu().numpy()
        if self.channels == 1:
            out = y[:, 0]
        else:
            out = y[0] if color else y[0].mean(axis=0, keepdims=True)
        out = out.transpose(1, 2, 0) if color else out[0]
        return np.ascontiguousarray(out, dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _load(name: str, path: str, digest: str) -> Network:
    configure_threads()
    return Network(weights.load_model(weights.get_entry(name)))


def load(name: str) -> Network:
    """The cached ``Network`` of weights entry ``name`` (loaded and sha256-checked on first use)."""
    entry = weights.get_entry(name)
    return _load(entry.name, str(entry.file), entry.sha256)


def clear_cache() -> None:
    """Forget loaded networks (after weights were replaced or imported)."""
    _load.cache_clear()


def _sigma_auto(level) -> dict:
    return {"sigma": float(min(max(level.get("sigma", 0.0), 0.0), SIGMA_MAX))}


def _var_auto(level) -> dict:
    """The classifier's speckle ``var`` when the level has one; else 0 (measured by the model)."""
    return {"var": float(min(max(level["var"], 0.0), VAR_MAX))} if "var" in level else {}


def measured_speckle_var(image: np.ndarray) -> float:
    """The speckle variance measured from ``image`` (``classify.speckle_var``), 0 when it cannot be."""
    from .classify import speckle_var
    var = speckle_var(image)
    return float(min(var, VAR_MAX)) if np.isfinite(var) else 0.0


def _docstring(entry: weights.Entry) -> str:
    trained = f"trained for {entry.noise} noise"
    if entry.sigma_range:
        low, high = (f"{value * 255:.0f}" for value in entry.sigma_range)
        trained += f", σ {low}/255" if low == high else f", σ {low}–{high}/255"
    about = f"source: {entry.source}" + (f"; {entry.hash_note}" if entry.hash_note else "")
    return (f"{entry.title}: learned denoiser ({entry.arch}, {trained}).\n\n"
            f"Weights: {entry.file.name} ({about}); see its model card for data and measured PSNR.")


def make_denoiser(entry: weights.Entry):
    """The pure function registered for ``entry``: ``f(image, *, var)`` (multiplicative), ``f(image, *, sigma)``
    (noise map) or ``f(image)``."""
    if entry.multiplicative:
        def denoise(image: np.ndarray, *, var: float = 0.0) -> np.ndarray:
            return load(entry.name)(image, np.sqrt(var or measured_speckle_var(image)))
    elif entry.noise_map:
        def denoise(image: np.ndarray, *, sigma: float = 25 / 255) -> np.ndarray:
            return load(entry.name)(image, sigma)
    else:
        def denoise(image: np.ndarray) -> np.ndarray:
            return load(entry.name)(image)
    denoise.__name__ = denoise.__qualname__ = entry.name
    denoise.__doc__ = _docstring(entry)
    return denoise


def register_entry(entry: weights.Entry) -> None:
    """Register ``entry`` as a denoiser (family ``learned``) named like the entry, tagged with its modality."""
    tags = ("learned", entry.arch, entry.noise, "gray" if entry.channels == 1 else "color",
            *((entry.modality,) if entry.modality else ()), *entry.tags)
    if entry.multiplicative:
        params = [FloatParam("var", default=0.0, lo=0.0, hi=VAR_MAX, step=0.001,
                             help="Speckle variance (y = x·(1 + n)); 0 measures it from the image. The network's "
                                  "noise map is √var times the local brightness")]
        auto = _var_auto
    elif entry.noise_map:
        hi = SIGMA_MAX
        params = [FloatParam("sigma", default=25 / 255, lo=0.0, hi=hi, step=1 / 255,
                             help="Noise std in [0, 1] units given to the network's noise-level map")]
        auto = _sigma_auto
    else:
        params, auto = [], None
    register(entry.name, kind="denoiser", family="learned", title=entry.title, params=params, auto=auto,
             tags=tuple(dict.fromkeys(tags)))(make_denoiser(entry))


def import_weights(path, name: str, *, title: str = "", noise: str = "gaussian",
                   label: str | None = None) -> weights.Entry:
    """Import a user's weights file (see ``weights.import_weights``) and register it right away.

    A name this process already has as a denoiser is refused before anything is written.
    """
    if name in registry.names("denoiser"):
        raise WeightsError(f"name {name!r} is already a denoiser here; choose another name")
    entry = weights.import_weights(path, name, title=title, noise=noise, label=label)
    clear_cache()
    register_entry(entry)
    return entry


def import_upload(data: bytes, filename: str, name: str) -> weights.Entry:
    """Import and register uploaded weights: ``data`` goes to a temporary file of our own naming, whose
    suffix ``weights.upload_suffix`` picks from the client's ``filename``; that name only labels messages."""
    suffix = weights.upload_suffix(filename)
    with tempfile.TemporaryDirectory(prefix="denoise-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return import_weights(path, name, label=weights.upload_label(filename))


def fetch_published(name: str, *, mirror=None, trust: bool = False, progress=None) -> weights.Entry:
    """Fetch published model ``name`` (``weights.fetch``: official address or ``mirror``, hash-checked) and
    register it as a denoiser in this process; later processes register it at import."""
    weights.fetch(name, mirror=mirror, trust=trust, progress=progress)
    clear_cache()
    register_present()
    return weights.get_entry(name)


def register_present() -> list[str]:
    """Register every weights entry whose file is present and whose name is free; returns the new names.

    Run at import, and again after weights arrive (a fetch, an import in another process)."""
    done = []
    try:
        known = weights.entries()
    except WeightsError:  # an unreadable imported catalog must not break the library import
        known = dict(weights.CATALOG)
    taken = set(registry.names("denoiser"))
    for entry in known.values():
        if entry.file.is_file() and entry.name not in taken:  # a hand-edited catalog may reuse a method's name
            register_entry(entry)
            done.append(entry.name)
    return done


def registered() -> list[str]:
    """Names of the learned denoisers registered now (shipped, imported and fetched ones)."""
    return [method.name for method in registry.methods("denoiser") if method.family == "learned"]


register_present()

MODALITIES = {"CT": "CT", "MR": "MRI", "MRI": "MRI", "X-RAY": "X-ray", "CR": "X-ray", "DX": "X-ray", "DR": "X-ray",
              "RG": "X-ray", "RF": "X-ray", "XA": "X-ray", "MG": "X-ray", "PX": "X-ray", "IO": "X-ray"}
"""DICOM modality codes (and the samples' names) -> the modality the shipped models are trained for."""


def modality_model(modality: str | None, noise: str = "gaussian") -> str | None:
    """The registered learned denoiser trained on ``modality`` images (a DICOM code such as CT, MR, CR,
    DX, or CT / MRI / X-ray) for ``noise``, or None when there is none."""
    wanted = MODALITIES.get(str(modality or "").strip().upper())
    return next((name for name, entry in weights.CATALOG.items()
                 if wanted and entry.modality == wanted and entry.noise == noise and name in registered()), None)


def conv_layers(network: Network) -> list[str]:
    """Names of the convolution layers of a loaded network, input to output (for feature maps)."""
    return [name for name, module in network.model.named_modules() if isinstance(module, nn.Conv2d)]


def feature_maps(network: Network, image: np.ndarray, layer: str, sigma: float = 0.0, *,
                 limit: int = 16) -> np.ndarray:
    """The first ``limit`` channels of ``layer``'s output (after its ReLU when one follows), (C, h, w).

    A colour image goes in as its mean for a gray network. Each map is scaled to [0, 1] for display.
    """
    image = check_array(image)
    if network.channels == 1 and image.ndim == 3:
        image = image.mean(axis=2)
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    if network.channels == 3 and image.ndim == 2:
        planes = np.repeat(planes, 3, axis=0)
    modules = dict(network.model.named_modules())
    if layer not in modules:
        raise InvalidParameterError(f"layer '{layer}' not in this network (valid: {', '.join(conv_layers(network))})")
    captured: list[torch.Tensor] = []
    handle = modules[layer].register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        x = torch.from_numpy(np.ascontiguousarray(planes))[None].to(network.device)
        with torch.inference_mode():
            network._forward(x, torch.full((1,), float(sigma), device=network.device))
    finally:
        handle.remove()
    maps = captured[0][0, :limit].float()
    if layer != conv_layers(network)[-1]:
        maps = maps.clamp(min=0)  # what the following ReLU passes on
    maps = maps.cpu().numpy()
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return ((maps - low) / np.where(span > 0, span, 1)).astype(np.float32)
