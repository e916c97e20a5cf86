"""Impulse filters for salt-and-pepper noise: each one redraws only the pixels it takes for impulses.

Registered like the classical denoisers (family ``classical``), with the same contract: a float32
``(H, W)`` or ``(H, W, 3)`` image in, never modified, the same shape out. Every other pixel is kept
exactly, so detail survives where a plain median would smooth it.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..registry import IntParam, NoiseLevel, register


def _per_channel(image: np.ndarray, func) -> np.ndarray:
    if image.ndim == 2:
        return func(image)
    return np.stack([func(image[..., c]) for c in range(image.shape[2])], axis=-1)


def _auto_adaptive_median(level: NoiseLevel) -> dict:
    impulse = float(level.get("impulse", 0.0))
    return {"max_size": 5 if impulse < 0.15 else 7 if impulse < 0.4 else 9 if impulse < 0.6 else 13}


@register("adaptive_median", kind="denoiser", family="classical", title="Adaptive median (impulse noise)",
          auto=_auto_adaptive_median, params=[
              IntParam("max_size", default=7, lo=3, hi=15, step=2, help="Largest window side tried"),
          ])
def adaptive_median(image: np.ndarray, *, max_size: int = 7) -> np.ndarray:
    """Adaptive median filter: replace only the pixels detected as impulses (Hwang and Haddad 1995).

    For each pixel the window grows from 3×3 until its median lies strictly between the window's
    minimum and maximum (or ``max_size`` is reached). The pixel is kept when it also lies strictly
    between them, otherwise replaced by that median: impulses go, detail stays. Vectorised with one
    min, max and median filter per window size, computed only while pixels are unresolved; colour
    channels are filtered separately.

    Parameters
    ----------
    max_size : odd int in [3, 15]
        Largest window side; 5 for sparse impulses, 7–9 for densities of 0.3–0.5.
    """
    return _per_channel(image.astype(np.float32), lambda x: _adaptive_median(x, max_size))


def _adaptive_median(x: np.ndarray, max_size: int) -> np.ndarray:
    out = x.copy()
    pending = np.ones(x.shape, bool)
    for size in range(3, max_size + 1, 2):
        lo = ndimage.minimum_filter(x, size, mode="reflect")
        hi = ndimage.maximum_filter(x, size, mode="reflect")
        med = ndimage.median_filter(x, size, mode="reflect")
        last = size + 2 > max_size
        resolved = pending & (((lo < med) & (med < hi)) | last)
        impulse = resolved & ~((lo < x) & (x < hi))
        out[impulse] = med[impulse]
        pending &= ~resolved
        if not pending.any():
            break
    return out


@register("switching_mean", kind="denoiser", family="classical", title="Switching mean (salt and pepper)", params=[
    IntParam("max_size", default=15, lo=3, hi=15, step=2, help="Largest window side searched for clean pixels"),
])
def switching_mean(image: np.ndarray, *, max_size: int = 15) -> np.ndarray:
    """Switching mean filter for salt-and-pepper noise: only the pixels at 0 or 1 are redrawn.

    Each such pixel becomes the mean of the other pixels in the smallest window (3×3, 5×5, ... up to
    ``max_size``) that holds any; every other pixel is kept exactly. Unlike the adaptive median, no
    impulse ever enters the average. Pure black or white detail is taken for impulses too.
    """
    import torch

    from ..models.ffdnet import fill_impulses, impulse_mask  # the same windows as FFDNet's impulse modes
    planes = torch.from_numpy(np.ascontiguousarray(np.moveaxis(np.atleast_3d(image), 2, 0), np.float32))[:, None]
    filled = fill_impulses(planes, impulse_mask(planes), tuple(range(3, max_size + 1, 2)))
    return np.moveaxis(filled[:, 0].numpy(), 0, 2).reshape(image.shape)
