"""Image quality metrics, exactly as ``BENCHMARK.md`` defines them.

Each metric is a registered function ``f(reference, image) -> float`` that declares whether higher is
better and its range. Images are compared in [0, 1] units: ``image.read_image`` normalises each
source by its declared value range (e.g. 65535 for 16-bit, the DICOM ``BitsStored`` range), so the
data range is 1 by construction and is never guessed from the array's dtype.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from . import registry
from .errors import InvalidImageError
from .image import check_array
from .registry import register

DATA_RANGE = 1.0
MAX_PSNR = 100.0
"""PSNR reported for identical images (an infinite value would break tables and charts)."""


def _pair(reference: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reference, image = check_array(reference, "reference"), check_array(image, "image")
    if reference.shape != image.shape:
        raise InvalidImageError(f"cannot compare images of shapes {reference.shape} and {image.shape}")
    return reference, np.clip(image, 0.0, DATA_RANGE)


@register("psnr", kind="metric", title="PSNR (dB)", higher_is_better=True, value_range=(0.0, MAX_PSNR))
def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    """Peak signal-to-noise ratio 10·log10(1 / MSE) in dB, on the image clipped to [0, 1], no border crop."""
    mse_value = mse(reference, image)
    return MAX_PSNR if mse_value == 0 else min(MAX_PSNR, float(10 * np.log10(DATA_RANGE**2 / mse_value)))


@register("ssim", kind="metric", title="SSIM", higher_is_better=True, value_range=(-1.0, 1.0))
def ssim(reference: np.ndarray, image: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004), Gaussian window σ=1.5, averaged over channels."""
    return float(ssim_map(reference, image).mean())


@register("mse", kind="metric", title="MSE", higher_is_better=False, value_range=(0.0, 1.0))
def mse(reference: np.ndarray, image: np.ndarray) -> float:
    """Mean squared error on the image clipped to [0, 1]."""
    reference, image = _pair(reference, image)
    return float(np.mean((reference.astype(np.float64) - image) ** 2))


@register("mae", kind="metric", title="MAE", higher_is_better=False, value_range=(0.0, 1.0))
def mae(reference: np.ndarray, image: np.ndarray) -> float:
    """Mean absolute error on the image clipped to [0, 1]."""
    reference, image = _pair(reference, image)
    return float(np.mean(np.abs(reference.astype(np.float64) - image)))


def ssim_map(reference: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM, (H, W), averaged over channels for colour; its mean is ``ssim``."""
    reference, image = _pair(reference, image)
    if min(reference.shape[:2]) < 7:
        raise InvalidImageError(f"SSIM needs images of at least 7×7 pixels, got {reference.shape[:2]}")
    channels = [reference] if reference.ndim == 2 else [reference[..., c] for c in range(reference.shape[2])]
    others = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
    maps = [structural_similarity(r, i, data_range=DATA_RANGE, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, full=True)[1] for r, i in zip(channels, others)]
    return np.mean(maps, axis=0).astype(np.float32)


def measure(reference: np.ndarray, image: np.ndarray, names: list[str] | None = None) -> dict[str, float]:
    """Every requested metric of ``image`` against ``reference`` (all registered ones by default)."""
    names = names or registry.names("metric")
    return {name: registry.get(name, "metric").func(reference, image) for name in names}
