"""The residual's power spectrum and autocorrelation, how white it is, and the JPEG 8×8 block-grid detector."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import analysis

LAGS = 8
"""The autocorrelation is shown for shifts of up to this many pixels each way."""
GRID_THRESHOLD = 1.15
"""In the noisy image, a JPEG grid is detected when, along both axes, the mean jump between neighbours at one offset
modulo 8 exceeds the median offset's by this factor (white noise: about 1.02 on 128² pixels; JPEG at quality 30:
1.2–1.6 on Set12)."""
RESIDUAL_THRESHOLD = 1.02
"""In a residual against the clean image (which may hold a grid of its own), the factor is this, or the chance
spread of the offsets' means (2.5 standard errors) where that is larger (noise models: 1.00–1.013 on Set12; JPEG
at quality 30: 1.022–1.18)."""
GRID_MIN_SIDE = 64
"""Fewer than eight blocks a side are too few to tell a grid from chance."""


@dataclass(frozen=True)
class Spectrum:
    """The residual's log10 power spectrum (centred), its radial profile, autocorrelation and two numbers:
    ``flatness`` (geometric over arithmetic mean of the radial power above ``low_cut``: 1 = white) and
    ``neighbour`` (the largest autocorrelation one or two pixels away: about 0 for white noise)."""

    power: np.ndarray
    frequency: np.ndarray
    radial: np.ndarray
    autocorrelation: np.ndarray
    flatness: float
    neighbour: float
    low_cut: float


@dataclass(frozen=True)
class Grid:
    """The 8×8 block grid: per axis (rows, columns) the mean neighbour jump at each offset modulo 8, the strongest
    offset and its ratio to the median; ``detected`` when both ratios reach ``threshold`` on an image of at least
    ``GRID_MIN_SIDE`` pixels a side."""

    jumps: tuple[np.ndarray, np.ndarray]
    offsets: tuple[int, int]
    ratios: tuple[float, float]
    threshold: float
    detected: bool


def autocorrelation(residual: np.ndarray, lags: int = LAGS) -> np.ndarray:
    """Normalised autocorrelation (1 at zero shift) of the mean-removed luminance, shifts −lags…lags each way."""
    gray = analysis.luminance(residual).astype(np.float64)
    gray = gray - gray.mean()
    height, width = gray.shape
    padded = np.fft.rfft2(gray, s=(2 * height, 2 * width))
    full = np.fft.irfft2(np.abs(padded) ** 2, s=(2 * height, 2 * width))
    full = np.fft.fftshift(full)
    centre = (height, width)
    crop = full[centre[0] - lags:centre[0] + lags + 1, centre[1] - lags:centre[1] + lags + 1]
    return (crop / max(full[centre], 1e-300)).astype(np.float32)


def spectrum(residual: np.ndarray, *, low_cut: float = 0.05) -> Spectrum:
    """Power spectrum (``analysis.power_spectrum``), radial profile, autocorrelation and whiteness of a residual.

    ``low_cut`` (cycles per pixel) leaves out the frequencies below it from the flatness: without a clean
    reference the residual lost them to the smooth estimate.
    """
    power = analysis.power_spectrum(residual)
    frequency, radial = analysis.radial_profile(power)
    linear = 10.0 ** radial[frequency >= low_cut].astype(np.float64)
    flatness = float(np.exp(np.mean(np.log(linear))) / np.mean(linear)) if linear.size else float("nan")
    acf = autocorrelation(residual)
    near = acf[LAGS - 2:LAGS + 3, LAGS - 2:LAGS + 3].copy()
    near[2, 2] = 0.0
    return Spectrum(power, frequency, radial, acf, flatness, float(np.abs(near).max()), low_cut)


def jpeg_grid(image: np.ndarray, *, residual: bool = False) -> Grid:
    """Look for JPEG's 8×8 block grid in a noisy ``image``, or in the ``residual`` noisy − clean (see
    ``GRID_THRESHOLD`` and ``RESIDUAL_THRESHOLD``)."""
    gray = analysis.luminance(image).astype(np.float64)
    jumps, offsets, ratios, spreads = [], [], [], []
    for axis in (0, 1):
        steps = np.abs(np.diff(gray, axis=axis))
        lines = steps.mean(axis=1 - axis)
        count = len(lines) // 8 * 8
        per_offset = lines[:count].reshape(-1, 8).mean(axis=0)
        jumps.append(per_offset)
        offsets.append(int(per_offset.argmax()))
        ratios.append(float(per_offset.max() / max(np.median(per_offset), 1e-12)))
        spreads.append(2.5 * steps.std() / max(steps.mean(), 1e-12) / np.sqrt(steps.size / 8))
    threshold = max(RESIDUAL_THRESHOLD, 1 + max(spreads)) if residual else GRID_THRESHOLD
    detected = bool(min(ratios) >= threshold and min(gray.shape) >= GRID_MIN_SIDE)
    return Grid(tuple(jumps), tuple(offsets), tuple(ratios), float(threshold), detected)
