"""The residual's histogram and the densities fitted to it (Gaussian, Laplacian, impulse, Rician), each with
its goodness of fit: the Kolmogorov–Smirnov distance and the log-likelihood per pixel, both over the bins.

Without a clean reference the residual is in noise units (divided by √0.962 ≈ 0.98, the share of white noise's
variance that ``noisy − smooth`` keeps); the impulse and Rice densities place their mass by the smooth
estimate's intensities and ignore that 2% scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import optimize, special, stats

from .residual import Residual
from .variance import rice_moments

EDGES = np.linspace(-1.00125, 1.00125, 802)
"""Histogram bins of the residual: 1/400 wide over every value a residual of [0, 1] images can take, one centred on 0."""
CENTRES = (EDGES[:-1] + EDGES[1:]) / 2
WIDTH = float(EDGES[1] - EDGES[0])
MAX_SAMPLES = 200_000
_LEVEL_BINS = 32
_MIN_CORE = WIDTH / 2
_EXTREME_TOL = 1 / 1024  # an impulse is 0 or 1 (8- and 16-bit files too)


@dataclass(frozen=True)
class Density:
    """One density fitted to the residual: parameters, bin probabilities, KS distance, log-likelihood per pixel."""

    model: str
    params: dict[str, float]
    probabilities: np.ndarray
    ks: float
    loglik: float

    @property
    def pdf(self) -> np.ndarray:
        """The density at ``CENTRES``."""
        return self.probabilities / WIDTH


def samples(res: Residual, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(residual, noise-free level, noisy value at 0 or 1) at up to ``MAX_SAMPLES`` pixels drawn with ``seed``;
    without a reference only the flatter half of the pixels (by the smooth estimate's 8×8 standard deviation),
    so edges stay out."""
    residuals, levels, extremes = [], [], []
    for noisy, level, residual in zip(res.noisy, res.level, res.residual):
        keep = np.ones(level.shape, bool)
        if not res.has_reference:
            mean = cv2.blur(level, (8, 8))
            spread = np.sqrt(np.maximum(cv2.blur(level * level, (8, 8)) - mean * mean, 0))
            keep = spread <= np.quantile(spread, 0.5)
        residuals.append(residual[keep])
        levels.append(level[keep])
        extremes.append((np.abs(noisy[keep] - 0.5) >= 0.5 - _EXTREME_TOL))
    residual, level, extreme = (np.concatenate(v) for v in (residuals, levels, extremes))
    if residual.size > MAX_SAMPLES:
        chosen = np.random.default_rng(seed).choice(residual.size, MAX_SAMPLES, replace=False)
        residual, level, extreme = residual[chosen], level[chosen], extreme[chosen]
    return np.clip(residual, -1.0, 1.0).astype(np.float64), np.clip(level, 0.0, 1.0).astype(np.float64), extreme


def _score(model: str, params: dict, probabilities: np.ndarray, counts: np.ndarray) -> Density:
    probabilities = np.maximum(probabilities, 0.0)
    probabilities = probabilities / max(probabilities.sum(), 1e-300)
    total = counts.sum()
    ks = float(np.max(np.abs(np.cumsum(counts) / total - np.cumsum(probabilities))))
    loglik = float(np.sum(counts * np.log(np.maximum(probabilities, 1e-300) / WIDTH)) / total)
    return Density(model, params, probabilities, ks, loglik)


def _gaussian(residual: np.ndarray, counts: np.ndarray) -> Density:
    mean, sigma = float(residual.mean()), max(float(residual.std()), _MIN_CORE)
    return _score("gaussian", {"mean": mean, "sigma": sigma}, np.diff(stats.norm.cdf(EDGES, mean, sigma)), counts)


def _laplacian(residual: np.ndarray, counts: np.ndarray) -> Density:
    loc = float(np.median(residual))
    scale = max(float(np.mean(np.abs(residual - loc))), _MIN_CORE)
    return _score("laplacian", {"loc": loc, "scale": scale}, np.diff(stats.laplace.cdf(EDGES, loc, scale)), counts)


def _spikes(level: np.ndarray) -> np.ndarray:
    """Bin probabilities of pepper (residual −x) and salt (residual 1 − x), x the level."""
    ordered = np.sort(level)
    return np.stack([np.diff(1.0 - np.searchsorted(ordered, v - EDGES, side="left") / len(ordered))
                     for v in (0.0, 1.0)])


def _impulse_parts(spikes: np.ndarray, core: float) -> np.ndarray:
    """Bin probabilities of the core N(0, core²) and of the spikes spread by it (the level is known no better
    than the noise)."""
    reach = min(int(np.ceil(4 * core / WIDTH)), len(CENTRES) // 2 - 1)  # "same" keeps the length for such kernels
    kernel = stats.norm.pdf(np.arange(-reach, reach + 1) * WIDTH, scale=core)
    kernel /= kernel.sum()
    spread = [np.convolve(spike, kernel, mode="same") for spike in spikes]
    return np.stack([np.diff(stats.norm.cdf(EDGES, 0.0, core)), *spread])


def _impulse(residual: np.ndarray, counts: np.ndarray, level: np.ndarray, extreme: np.ndarray) -> Density:
    """(1 − p − s)·N(0, core²) + p·pepper + s·salt, fitted by expectation–maximisation over the bins; only a pixel
    at 0 or 1 (``extreme``) can be an impulse."""
    near = np.abs(residual) < 0.25
    core = max(float(np.median(np.abs(residual[near]))) / 0.6745 if near.any() else 0.1, _MIN_CORE)
    at_extreme = np.histogram(residual[extreme], bins=EDGES)[0].astype(np.float64)
    elsewhere = counts - at_extreme
    weights, spikes = np.array([0.9, 0.05, 0.05]), _spikes(level)
    for _ in range(200):
        joint = weights[:, None] * _impulse_parts(spikes, core)
        share = joint / np.maximum(joint.sum(axis=0), 1e-300)
        core_counts = share[0] * at_extreme + elsewhere
        previous = weights
        weights = np.array([core_counts.sum(), *(share[1:] * at_extreme).sum(axis=1)]) / counts.sum()
        core = max(float(np.sqrt(np.sum(core_counts * CENTRES ** 2) / max(core_counts.sum(), 1e-300))), _MIN_CORE)
        if np.abs(weights - previous).max() < 1e-6:
            break
    params = {"fraction": float(weights[1] + weights[2]), "pepper": float(weights[1]), "salt": float(weights[2]),
              "core_sigma": core}
    return _score("impulse", params, weights @ _impulse_parts(spikes, core), counts)


def _rice_pdf(value: np.ndarray, nu: float, sigma: float) -> np.ndarray:
    """The Rice density of ``|ν + n₁ + i·n₂|`` (``n`` of std ``sigma``) at ``value`` (0 below zero)."""
    value = np.maximum(value, 0.0)
    scaled = value * nu / sigma ** 2
    return value / sigma ** 2 * np.exp(-(value - nu) ** 2 / (2 * sigma ** 2)) * special.i0e(scaled)


def _rice_probabilities(level: np.ndarray, sigma: float, has_reference: bool) -> np.ndarray:
    """Bin probabilities of ``|ν + n| − offset`` mixed over the level's histogram: with a reference the level is
    ν itself; without, it is the Rice mean, and ν the value whose Rice mean it is."""
    counts, edges = np.histogram(level, bins=_LEVEL_BINS, range=(0.0, 1.0))
    offsets = (edges[:-1] + edges[1:]) / 2
    nus = offsets
    if not has_reference:
        grid = np.linspace(0.0, 1.5, 601)
        means, _ = rice_moments(grid, sigma)
        nus = np.interp(offsets, means, grid, left=0.0)
    density = np.zeros_like(CENTRES)
    for weight, offset, nu in zip(counts / counts.sum(), offsets, nus):
        if weight:
            magnitude = CENTRES + offset
            density += weight * _rice_pdf(magnitude, nu, sigma)
    return density * WIDTH


def _rician(residual: np.ndarray, counts: np.ndarray, level: np.ndarray, has_reference: bool) -> Density:
    """The Rice mixture's σ by binned maximum likelihood, between a quarter and twice the residual's std."""
    def loss(log_sigma: float) -> float:
        p = _rice_probabilities(level, float(np.exp(log_sigma)), has_reference)
        return -float(np.sum(counts * np.log(np.maximum(p / max(p.sum(), 1e-300), 1e-300))))

    start = max(float(residual.std()), 2 * WIDTH)
    best = optimize.minimize_scalar(loss, bounds=(np.log(start / 4), np.log(start * 2)), method="bounded",
                                    options={"xatol": 1e-3})
    sigma = float(np.exp(best.x))
    return _score("rician", {"sigma": sigma}, _rice_probabilities(level, sigma, has_reference), counts)


def fit_all(res: Residual, seed: int = 0) -> tuple[np.ndarray, dict[str, Density]]:
    """(histogram counts over ``EDGES``, every density fitted), the densities best (highest log-likelihood) first."""
    residual, level, extreme = samples(res, seed)
    counts = np.histogram(residual, bins=EDGES)[0].astype(np.float64)
    fits = [_gaussian(residual, counts), _laplacian(residual, counts), _impulse(residual, counts, level, extreme),
            _rician(residual, counts, level, res.has_reference)]
    return counts, {d.model: d for d in sorted(fits, key=lambda d: -d.loglik)}
