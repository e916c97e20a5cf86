"""The residual a noise analysis looks at: ``noisy − clean`` with a clean reference, else ``noisy − smooth``,
the smooth estimate being a 5×5 median followed by a Gaussian blur of σ = 1.5 pixels."""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

from ..errors import InvalidImageError
from ..image import MIN_SIDE, check_array

MEDIAN_SIDE = 5
BLUR_SIGMA = 1.5
SMOOTH_NAME = f"{MEDIAN_SIDE}×{MEDIAN_SIDE} median, then a Gaussian blur of σ = {BLUR_SIGMA} pixels"
"""The smooth estimate used without a clean reference, as the page names it."""


class Residual(NamedTuple):
    """Planes (one per colour channel) of the noisy image, its noise-free estimate and the residual.

    ``residual`` is in noise units: without a reference it is divided by ``sqrt(factor)``, ``factor`` being
    the share of white noise's variance that ``noisy − smooth`` keeps (1 with a reference).
    """

    noisy: list[np.ndarray]
    level: list[np.ndarray]
    residual: list[np.ndarray]
    factor: float
    has_reference: bool


def smooth(plane: np.ndarray) -> np.ndarray:
    """The smooth estimate of a noisy (H, W) plane: robust to impulses (median), then low-pass (Gaussian)."""
    median = cv2.medianBlur(np.ascontiguousarray(plane, np.float32), MEDIAN_SIDE)
    return cv2.GaussianBlur(median, (0, 0), BLUR_SIGMA, borderType=cv2.BORDER_REFLECT)


@lru_cache(maxsize=1)
def kept_variance() -> float:
    """Share of white Gaussian noise's variance left in ``noise − smooth(noise)`` (the smooth estimate is
    scale-equivariant, so one measurement on 512² pixels of seed 0 serves every σ)."""
    noise = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    return float(np.var(noise - smooth(noise)))


def _planes(image: np.ndarray) -> list[np.ndarray]:
    return [image] if image.ndim == 2 else [np.ascontiguousarray(image[..., c]) for c in range(image.shape[2])]


def against(noisy: np.ndarray, clean: np.ndarray | None = None) -> Residual:
    """The residual of ``noisy`` against ``clean``, or against its smooth estimate when ``clean`` is None.

    Raises
    ------
    InvalidImageError
        Not an image, smaller than ``MIN_SIDE`` pixels a side, or a reference of another shape.
    """
    noisy = check_array(noisy).astype(np.float32)
    if min(noisy.shape[:2]) < MIN_SIDE:
        raise InvalidImageError(f"image: {noisy.shape[1]}×{noisy.shape[0]} pixels is too small for a noise "
                                f"analysis (at least {MIN_SIDE}×{MIN_SIDE})")
    if clean is None:
        factor = kept_variance()
        levels = [smooth(p) for p in _planes(noisy)]
        return Residual(_planes(noisy), levels, [(p - s) / np.sqrt(factor) for p, s in zip(_planes(noisy), levels)],
                        factor, False)
    clean = check_array(clean).astype(np.float32)
    if clean.shape != noisy.shape:
        raise InvalidImageError(f"clean reference: shape {clean.shape} differs from the noisy image's {noisy.shape}")
    return Residual(_planes(noisy), _planes(clean), [n - c for n, c in zip(_planes(noisy), _planes(clean))],
                    1.0, True)
