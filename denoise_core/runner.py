"""Running a network on numpy images: the one place where torch meets the arrays.

``Network`` converts numpy ↔ tensor, runs under ``torch.inference_mode``, pads to the
architecture's multiple (reflection), splits large images into overlapping tiles so memory stays
bounded, folds batch norm into the convolutions, and uses CUDA when present. A gray model denoises a
colour image channel by channel; a colour model sees a gray image as three equal channels. ``load``
gives the cached ``Network`` of a weights entry; ``feature_maps`` shows what a layer computes.
"""
from __future__ import annotations

import functools
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import weights
from .errors import InvalidParameterError
from .image import check_array
from .models import DnCNN, fuse_batch_norm, run_network

TILE = 512
OVERLAP = 32


def device(name: str = "auto") -> torch.device:
    """``cuda`` when present (for ``auto``), else ``cpu``; ``InvalidParameterError`` for another or a missing one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(name)
    except RuntimeError:
        chosen = None
    if chosen is None or chosen.type not in ("cpu", "cuda"):
        raise InvalidParameterError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise InvalidParameterError(f"--device {name}: no such CUDA device here ({torch.cuda.device_count()} "
                                    f"visible, torch {torch.__version__}); use --device cpu or auto")
    return chosen


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
        if sigma.dim() == 4:  # a per-pixel map is padded like the image
            sigma = _pad(sigma, self.multiple)[0]
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
                part = sigma[..., y0:y1, x0:x1] if sigma.dim() == 4 else sigma
                piece = self._forward(x[..., y0:y1, x0:x1], part)
                bottom, right = min(top + size, h), min(left + size, w)
                out[..., top:bottom, left:right] = piece[..., top - y0:bottom - y0, left - x0:right - x0]
        return out

    def __call__(self, image: np.ndarray, sigma: float | np.ndarray = 0.0) -> np.ndarray:
        """Denoise a float32 (H, W) or (H, W, 3) image; returns the same shape, clipped to [0, 1].

        ``sigma`` is one noise level, or an (H, W) map of levels for networks that take one per pixel."""
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
        if np.ndim(sigma) == 2:
            plane = torch.from_numpy(np.ascontiguousarray(sigma, dtype=np.float32)).to(self.device)
            level = plane[None, None].expand(x.shape[0], 1, -1, -1)
        else:
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
