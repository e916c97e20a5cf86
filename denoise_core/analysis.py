"""Analysis helpers for looking at noise: spectra, profiles, residual statistics. Pure numpy/scipy.

Used by the Noise Lab page; no streamlit here. Images follow the library's contract: float32,
(H, W) or (H, W, 3), values in [0, 1] (residuals may be negative).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy import stats

from .errors import InvalidImageError


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W) view of an image: itself when gray, the channel mean when colour."""
    image = np.asarray(image, dtype=np.float32)
    return image if image.ndim == 2 else image.mean(axis=2)


def power_spectrum(image: np.ndarray, *, max_side: int = 256) -> np.ndarray:
    """Centred 2-D power spectrum ``log10(|FFT|² / N + 1e-12)`` of the mean-removed luminance.

    A Hann window suppresses the edge cross. White noise gives a flat spectrum; natural images
    concentrate power at low frequencies (the centre). Larger images are averaged over
    ``max_side``-pixel tiles (Welch's method), so the result is at most ``max_side``² and smoother.
    """
    gray = luminance(image).astype(np.float64)
    height, width = gray.shape
    if min(height, width) < 4:
        raise InvalidImageError(f"power spectrum needs at least 4×4 pixels, got {width}×{height}")
    th, tw = min(height, max_side), min(width, max_side)
    window = np.outer(np.hanning(th), np.hanning(tw))
    norm = (window**2).sum()
    acc, count = np.zeros((th, tw)), 0
    for y in range(0, height - th + 1, th):
        for x in range(0, width - tw + 1, tw):
            tile = gray[y:y + th, x:x + tw]
            tile = (tile - tile.mean()) * window
            acc += np.abs(np.fft.fft2(tile)) ** 2 / norm
            count += 1
    return np.log10(np.fft.fftshift(acc / count) + 1e-12).astype(np.float32)


def radial_profile(spectrum: np.ndarray, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a centred spectrum over rings: (normalised frequency in [0, 0.5], mean value)."""
    height, width = spectrum.shape
    fy = np.fft.fftshift(np.fft.fftfreq(height))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(width))[None, :]
    radius = np.hypot(fy, fx).ravel()
    edges = np.linspace(0, 0.5, bins + 1)
    index = np.clip(np.digitize(radius, edges) - 1, 0, bins - 1)
    keep = radius <= 0.5
    sums = np.bincount(index[keep], spectrum.ravel()[keep], minlength=bins)
    counts = np.bincount(index[keep], minlength=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    valid = counts > 0
    return centres[valid], (sums[valid] / counts[valid]).astype(np.float32)


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Probability density of ``values`` over ``edges`` (values outside are left out)."""
    counts, _ = np.histogram(np.asarray(values).ravel(), bins=edges)
    widths = np.diff(edges)
    total = max(np.asarray(values).size, 1)
    return (counts / (total * widths)).astype(np.float32)


def _mixture(clean: np.ndarray, edges: np.ndarray, scale_of, *, samples: int = 48) -> np.ndarray:
    """Density of ``N(0, scale_of(x)²)`` mixed over the clean image's intensity histogram."""
    x = np.clip(luminance(clean).ravel(), 0, 1)
    counts, levels = np.histogram(x, bins=samples, range=(0, 1))
    centres = (levels[:-1] + levels[1:]) / 2
    grid = (edges[:-1] + edges[1:]) / 2
    density = np.zeros_like(grid, dtype=np.float64)
    for weight, level in zip(counts / counts.sum(), centres):
        if weight == 0:
            continue
        scale = float(scale_of(level))
        if scale <= 1e-6:
            continue  # a point mass at 0 has no density to draw
        density += weight * stats.norm.pdf(grid, scale=scale)
    return density.astype(np.float32)


def expected_residual(model: str, params: Mapping, clean: np.ndarray,
                      edges: np.ndarray) -> tuple[np.ndarray | None, str]:
    """What the residual ``noisy − clean`` of ``model`` should look like: (density or None, note).

    Analytic where the model has one: the Gaussian pdf; for signal-dependent models a mixture over
    the clean image's intensities (speckle: N(0, var·x²); Poisson: normal approximation
    N(0, x/peak); Rician: the Rice distribution of |x + n| minus x). Clipping to [0, 1] is not
    modelled (the note says so). Impulse, JPEG, scribble and mixed noise have no density to
    compare with: ``None`` and a note saying what to look for instead.
    """
    grid = (edges[:-1] + edges[1:]) / 2
    if model == "gaussian":
        sigma = float(params.get("sigma", 0))
        if sigma <= 0:
            return None, "σ = 0: no noise."
        note = "Gaussian pdf N(0, σ²)"
        if params.get("clip", False):
            note += "; clipping to [0, 1] piles up residuals near dark and bright pixels"
        return stats.norm.pdf(grid, scale=sigma).astype(np.float32), note
    if model == "speckle":
        sd = float(np.sqrt(params.get("var", 0)))
        return _mixture(clean, edges, lambda x: sd * x), "mixture of N(0, var·x²) over the clean intensities (clipping not modelled)"
    if model == "poisson":
        peak = float(params.get("peak", 1))
        return (_mixture(clean, edges, lambda x: np.sqrt(x / peak)),
                "normal approximation N(0, x/peak) mixed over the clean intensities (poor below ~10 photons)")
    if model == "low_light":
        dim, peak, read = (float(params.get(k, d)) for k, d in (("dim", 1), ("peak", 500), ("read_sigma", 0)))
        return (_mixture(clean, edges, lambda x: np.sqrt(dim * x / peak + read**2) / dim),
                "normal approximation of shot + read noise, variance (dim·x/peak + read_sigma²)/dim²")
    if model == "rician":
        sigma = float(params.get("sigma", 0))
        if sigma <= 0:
            return None, "σ = 0: no noise."
        x = np.clip(luminance(clean).ravel(), 0, 1)
        counts, levels = np.histogram(x, bins=48, range=(0, 1))
        centres = (levels[:-1] + levels[1:]) / 2
        density = np.zeros_like(grid, dtype=np.float64)
        for weight, level in zip(counts / counts.sum(), centres):
            if weight:
                magnitude = grid + level
                density += weight * np.where(magnitude >= 0, stats.rice.pdf(np.maximum(magnitude, 0),
                                                                            level / sigma, scale=sigma), 0)
        return density.astype(np.float32), "Rice distribution of |x + n₁ + i·n₂| − x, mixed over the clean intensities"
    if model == "salt_pepper":
        amount = float(params.get("amount", 0))
        return None, (f"impulse noise has no density: expect {100 * (1 - amount):.1f}% of the residuals exactly 0 "
                      f"and {100 * amount:.1f}% of the pixels set to 0 or 1")
    return None, "no closed-form distribution for this model; the histogram is the measurement"


def changed_fraction(clean: np.ndarray, noisy: np.ndarray, tol: float = 1e-6) -> float:
    """Share of the pixels that the noise changed (all channels of a pixel count as one)."""
    diff = np.abs(np.asarray(noisy, np.float32) - np.asarray(clean, np.float32)) > tol
    return float((diff if diff.ndim == 2 else diff.any(axis=2)).mean())


def fitted_level(fit: str, clean: np.ndarray, noisy: np.ndarray) -> tuple[str, float]:
    """The noise level measured with the clean image at hand, as (what it is, value), by a noise model's
    ``Level.fit``: the share of pixels changed (impulses), Poisson's peak (mean / variance of the residual,
    since a pixel's variance is its value / peak), speckle's variance (residual variance / mean square), or
    else the SNR, mean(clean) / std(noisy − clean)."""
    clean, residual = np.asarray(clean, np.float64), np.asarray(noisy, np.float64) - np.asarray(clean, np.float64)
    if fit == "impulse":
        return "Impulses measured: share of pixels changed", changed_fraction(clean, noisy)
    variance = float(residual.var())
    if fit == "peak":
        return "Peak fitted: mean(clean) / var(noisy − clean)", float(clean.mean()) / max(variance, 1e-12)
    if fit == "var":
        return "Speckle variance fitted: var(noisy − clean) / mean(clean²)", variance / max(float((clean ** 2).mean()), 1e-12)
    return "SNR measured: mean(clean) / std(noisy − clean)", float(clean.mean()) / max(np.sqrt(variance), 1e-12)
