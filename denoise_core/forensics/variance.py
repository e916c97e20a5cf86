"""Local mean–variance analysis: the residual's variance in small blocks against their mean intensity, and
the noise models fitted to it (additive, Poisson, speckle, Rician), with standard errors and AIC/BIC.

Every model gives the noise-free intensity ``x`` a mean and a variance before clipping; the observed image is
clipped to [0, 1], so each is seen through a normal distribution censored at 0 (not for Poisson and Rician,
which are never negative) and 1. A block's observed mean is compared with the curve of (mean, variance) that
a model traces as ``x`` runs from 0 to 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import optimize, special, stats

from .residual import Residual

BINS = 20
"""Intensity bins of the block means."""
FLAT_SHARE = 0.5
"""Share of the blocks of each intensity bin kept: those whose noise-free estimate varies least (no edges)."""
MIN_BLOCKS = 4
EXACT_PEAK = 500.0
"""Up to this peak the Poisson model's clipping is computed from the Poisson distribution itself."""
BIC_MARGIN = 10.0
"""A BIC difference below this is not evidence enough for a model with more parameters (Kass and Raftery: >10 is
very strong)."""
_X = np.linspace(0.0, 1.0, 401)
_RELATIVE_FLOOR = 0.02  # a bin's variance is never known better than this (clipping, quantisation)
_ABSOLUTE_FLOOR = 1e-7


@dataclass(frozen=True)
class Blocks:
    """Per block: mean of the noisy image, residual variance, spread of the noise-free estimate, kept."""

    mean: np.ndarray
    variance: np.ndarray
    structure: np.ndarray
    kept: np.ndarray


@dataclass(frozen=True)
class Binned:
    """Per intensity bin with enough flat blocks: mean, mean variance, its standard error, block count."""

    mean: np.ndarray
    variance: np.ndarray
    error: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class Fit:
    """One noise model fitted to the binned variances.

    ``params`` and ``errors`` are named as the model names them; ``curve`` is (mean, variance) over the
    observed intensity range for drawing.
    """

    model: str
    formula: str
    params: dict[str, float]
    errors: dict[str, float]
    chi2: float
    aic: float
    bic: float
    curve: tuple[np.ndarray, np.ndarray]


def blocks(res: Residual, side: int = 8) -> Blocks:
    """Statistics of every ``side``×``side`` block of every plane; the flattest ``FLAT_SHARE`` of each
    intensity bin are marked kept."""
    means, variances, structures = [], [], []
    for noisy, level, residual in zip(res.noisy, res.level, res.residual):
        height, width = (noisy.shape[0] // side) * side, (noisy.shape[1] // side) * side

        def split(plane: np.ndarray) -> np.ndarray:
            return plane[:height, :width].reshape(height // side, side, width // side, side).swapaxes(1, 2).reshape(
                -1, side * side).astype(np.float64)

        means.append(split(noisy).mean(axis=1))
        variances.append(split(residual).var(axis=1, ddof=1))
        structures.append(split(level).std(axis=1))
    mean, variance, structure = (np.concatenate(v) for v in (means, variances, structures))
    kept = np.zeros(mean.shape, bool)
    index = np.minimum((mean * BINS).astype(int), BINS - 1)
    for b in range(BINS):
        members = np.flatnonzero(index == b)
        if len(members) >= MIN_BLOCKS:
            kept[members[structure[members] <= np.quantile(structure[members], FLAT_SHARE)]] = True
    return Blocks(mean, variance, structure, kept)


def binned(measured: Blocks) -> Binned:
    """Mean, variance and its standard error of the kept blocks per intensity bin (saturated bins left out:
    a block within 1/255 of 0 or 1 on average carries no noise to measure)."""
    index = np.minimum((measured.mean * BINS).astype(int), BINS - 1)
    rows = []
    for b in range(BINS):
        chosen = measured.kept & (index == b) & (measured.mean > 1 / 255) & (measured.mean < 254 / 255)
        count = int(chosen.sum())
        if count >= MIN_BLOCKS:
            v = measured.variance[chosen]
            rows.append((measured.mean[chosen].mean(), v.mean(), v.std(ddof=1) / np.sqrt(count), count))
    mean, variance, error, count = (np.array(c, np.float64) for c in zip(*rows)) if rows else (np.zeros(0),) * 4
    return Binned(mean, variance, np.maximum(error, _RELATIVE_FLOOR * variance + _ABSOLUTE_FLOOR), count.astype(int))


def _censored(mean: np.ndarray, variance: np.ndarray, low: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``N(mean, variance)`` clipped to [``low``, 1] (to (-∞, 1] when ``low`` is None)."""
    sd = np.sqrt(np.maximum(variance, 1e-14))
    b = (1.0 - mean) / sd
    pb, db = stats.norm.cdf(b), stats.norm.pdf(b)
    if low is None:
        pa, da, a_da, low = 0.0, 0.0, 0.0, 0.0
    else:
        a = (low - mean) / sd
        pa, da = stats.norm.cdf(a), stats.norm.pdf(a)
        a_da = a * da
    inside = pb - pa
    first = low * pa + (1 - pb) + mean * inside + sd * (da - db)
    second = (low ** 2 * pa + (1 - pb) + (mean ** 2 + sd ** 2) * inside + 2 * mean * sd * (da - db)
              + sd ** 2 * (a_da - b * db))
    return first, np.maximum(second - first ** 2, 0.0)


def rice_moments(nu: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the Rice distribution of ``|nu + n₁ + i·n₂|``, ``n`` of std ``sigma``."""
    t2 = (np.asarray(nu, np.float64) / sigma) ** 2
    laguerre = (1 + t2 / 2) * special.i0e(t2 / 4) + t2 / 2 * special.i1e(t2 / 4)
    mean = sigma * np.sqrt(np.pi / 2) * laguerre
    return mean, np.maximum(2 * sigma ** 2 + nu ** 2 - mean ** 2, 0.0)


def _additive(x, sigma):
    return _censored(x, np.full_like(x, sigma ** 2), 0.0)


def _poisson(x, gain, offset):
    """Clipped ``Poisson(peak·x)/peak`` (peak = 1/gain) plus an unclipped variance ``offset``: exact up to
    ``EXACT_PEAK`` (counts at or above the peak read 1), the censored normal above."""
    peak = 1 / max(gain, 1e-12)
    if peak > EXACT_PEAK:
        return _censored(x, np.maximum(gain * x + offset, 0.0), None)
    counts = np.arange(int(np.ceil(peak)))[:, None]
    below = stats.poisson.pmf(counts, peak * x[None, :])
    above = np.maximum(1.0 - below.sum(axis=0), 0.0)
    mean = (counts / peak * below).sum(axis=0) + above
    second = ((counts / peak) ** 2 * below).sum(axis=0) + above
    return mean, np.maximum(second - mean ** 2, 0.0) + offset


def _speckle(x, var, offset):
    return _censored(x, np.maximum(var * x ** 2 + offset, 0.0), 0.0)


def _rician(x, sigma):
    mean, variance = rice_moments(x, max(abs(sigma), 1e-6))
    return _censored(mean, variance, None)


MODELS: dict[str, tuple[str, Callable, tuple[str, ...]]] = {
    "additive": ("variance = σ² (flat)", _additive, ("sigma",)),
    "poisson": ("variance = gain·mean + offset (linear)", _poisson, ("gain", "offset")),
    "speckle": ("variance = var·mean² + offset (quadratic)", _speckle, ("var", "offset")),
    "rician": ("Rice: σ² in the bright, a floor near black", _rician, ("sigma",)),
}
"""Each noise model: its formula as the page writes it, (mean, variance) of the clipped observation as a
function of the noise-free intensity, and its parameters' names."""


def curve(model: str, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(observed mean, observed variance) that ``model`` traces as the noise-free intensity runs over [0, 1]."""
    _, func, names = MODELS[model]
    return func(_X, *(params[n] for n in names))


def noise_at(fit: Fit, mean: float = 0.5) -> float:
    """The noise standard deviation ``fit`` gives an observed intensity ``mean``."""
    curve_mean, curve_variance = curve(fit.model, fit.params)
    order = np.argsort(curve_mean)
    return float(np.sqrt(np.interp(mean, curve_mean[order], curve_variance[order])))


def _predict(model: str, means: np.ndarray, *values: float) -> np.ndarray:
    """``model``'s variance at the observed ``means`` (its curve read at them)."""
    curve_mean, curve_variance = curve(model, dict(zip(MODELS[model][2], values)))
    order = np.argsort(curve_mean)
    return np.interp(means, curve_mean[order], curve_variance[order])


def _start(model: str, data: Binned) -> list[float]:
    level = float(np.median(data.variance))
    mean = float(np.median(data.mean)) or 0.5
    return {"additive": [np.sqrt(level)], "rician": [np.sqrt(level)], "poisson": [level / mean, 1e-8],
            "speckle": [level / mean ** 2, 1e-8]}[model]


def fit(model: str, data: Binned) -> Fit:
    """Weighted least squares of ``model``'s variance curve (every parameter ≥ 0) to the binned variances; standard errors from
    the covariance scaled by the reduced χ² (when it exceeds one); AIC = χ² + 2k, BIC = χ² + k·ln n."""
    formula, _, names = MODELS[model]
    count = len(data.mean)
    if count <= len(names):
        return Fit(model, formula, dict.fromkeys(names, np.nan), dict.fromkeys(names, np.nan),
                   np.inf, np.inf, np.inf, (np.zeros(0), np.zeros(0)))
    try:
        values, covariance = optimize.curve_fit(lambda m, *p: _predict(model, m, *p), data.mean, data.variance,
                                                p0=_start(model, data), sigma=data.error, absolute_sigma=True,
                                                bounds=(0.0, np.inf))
    except (RuntimeError, optimize.OptimizeWarning, ValueError):
        values, covariance = np.array(_start(model, data)), np.full((len(names),) * 2, np.nan)
    chi2 = float(np.sum(((data.variance - _predict(model, data.mean, *values)) / data.error) ** 2))
    scale = max(1.0, chi2 / max(count - len(names), 1))
    errors = np.sqrt(np.abs(np.diag(covariance)) * scale)
    params = dict(zip(names, (abs(v) if n == "sigma" else v for n, v in zip(names, values.tolist()))))
    shown = curve(model, params)
    inside = (shown[0] >= data.mean.min()) & (shown[0] <= data.mean.max())
    return Fit(model, formula, params, dict(zip(names, errors.tolist())), chi2, chi2 + 2 * len(names),
               chi2 + len(names) * np.log(count), (shown[0][inside], shown[1][inside]))


def fit_all(data: Binned) -> dict[str, Fit]:
    """Every model of ``MODELS`` fitted, best first: the lowest BIC, except that a simpler model within
    ``BIC_MARGIN`` of it goes before it: one with fewer parameters, or the additive one beside the Rician (which
    differ only near black: a floor must show to be claimed)."""
    fits = sorted((fit(model, data) for model in MODELS), key=lambda f: f.bic if np.isfinite(f.bic) else np.inf)
    close = [f for f in fits if f.bic - fits[0].bic < BIC_MARGIN]
    best = min(close, key=lambda f: (len(f.params), f.model != "additive")) if close else fits[0]
    return {f.model: f for f in [best, *(f for f in fits if f is not best)]}
