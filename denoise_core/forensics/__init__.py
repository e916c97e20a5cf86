"""Noise forensics: what kind of noise an image carries, and how strong, with the evidence for it.

``analyse(noisy, clean=None)`` measures, from the residual (``noisy − clean``, or ``noisy −`` a smooth estimate
when there is no clean reference): the local mean–variance scatter with the additive, Poisson, speckle and Rician
models fitted to it (``variance``), the residual's histogram with Gaussian, Laplacian, impulse and Rician
densities (``distributions``), its power spectrum, autocorrelation and a JPEG block-grid detector (``spectrum``),
and a verdict naming the noise. ``confusion`` measures how often the noise classifier is right on held-out images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import distributions, spectrum, variance
from . import residual
from .residual import SMOOTH_NAME

IMPULSE_MIN = 0.02
"""Smallest impulse fraction the verdict calls salt and pepper (speckle and Poisson fits reach about 0.015)."""
IMPULSE_GAIN = 0.2
"""How much better, in log-likelihood per pixel, the impulse density must fit than the Gaussian."""
CLEAN_SIGMA = 1 / 255
"""Below this noise standard deviation at mid-grey (by the winning model) the verdict calls the image clean."""
_KIND = {"additive": "gaussian", "poisson": "poisson", "speckle": "speckle", "rician": "rician"}


@dataclass(frozen=True)
class Report:
    """Everything ``analyse`` measured; ``kind`` names the noise as the registered noise models do
    (``gaussian``, ``poisson``, ``speckle``, ``rician``, ``salt_pepper``, ``jpeg``), or ``clean``, or
    ``unmeasured`` (too few flat blocks to fit a variance model). The JPEG grid is looked for in the residual
    when there is a clean reference, else in the noisy image."""

    has_reference: bool
    blocks: variance.Blocks
    binned: variance.Binned
    fits: dict[str, variance.Fit]
    counts: np.ndarray
    densities: dict[str, distributions.Density]
    spectrum: spectrum.Spectrum
    grid: spectrum.Grid
    kind: str

    @property
    def estimate(self) -> str:
        """What the residual was taken against."""
        return "the clean reference" if self.has_reference else f"a smooth estimate ({SMOOTH_NAME})"


def analyse(noisy: np.ndarray, clean: np.ndarray | None = None, *, block: int = 8, seed: int = 0) -> Report:
    """Every forensic measurement of ``noisy``'s noise, against ``clean`` when given.

    Parameters
    ----------
    noisy : ndarray
        (H, W) or (H, W, C) image in [0, 1], at least 32 pixels a side.
    clean : ndarray, optional
        Its clean reference, of the same shape.
    block : int
        Side in pixels of the blocks of the mean–variance scatter (4–32).
    seed : int
        Seed of the pixels drawn for the histogram fits.

    Raises
    ------
    InvalidImageError
        Too small, or a reference of another shape.
    """
    res = residual.against(noisy, clean)
    blocks = variance.blocks(res, int(np.clip(block, 4, 32)))
    binned = variance.binned(blocks)
    fits = variance.fit_all(binned)
    counts, densities = distributions.fit_all(res, seed)
    spec = spectrum.spectrum(np.stack(res.residual, axis=-1) if len(res.residual) > 1 else res.residual[0],
                             low_cut=0.05 if res.has_reference else 0.2)
    grid = spectrum.jpeg_grid(noisy - clean if res.has_reference else noisy, residual=res.has_reference)
    return Report(res.has_reference, blocks, binned, fits, counts, densities, spec, grid,
                  _kind(fits, densities, grid))


def _impulsive(densities: dict[str, distributions.Density]) -> bool:
    impulse = densities["impulse"]
    return (impulse.params["fraction"] >= IMPULSE_MIN
            and impulse.loglik - densities["gaussian"].loglik >= IMPULSE_GAIN)


def _kind(fits: dict[str, variance.Fit], densities: dict[str, distributions.Density], grid: spectrum.Grid) -> str:
    if _impulsive(densities):
        return "salt_pepper"
    if grid.detected:
        return "jpeg"
    best = next(iter(fits.values()))
    if not np.isfinite(best.bic):
        return "unmeasured"
    if variance.noise_at(best) < CLEAN_SIGMA:
        return "clean"
    return _KIND[best.model]


def plus_minus(value: float, error: float) -> str:
    """``value ± error`` to the error's first two significant digits (``0.0199 ± 0.00034``)."""
    if not np.isfinite(error) or error <= 0:
        return f"{value:.3g}"
    digits = max(0, 1 - int(np.floor(np.log10(error))))
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def verdict(report: Report, sigma: Callable[[float], str] = lambda v: f"{255 * v:.2f}/255") -> str:
    """One line naming the noise and its strength, with the evidence (``sigma`` writes a standard deviation
    in [0, 1] units as the reader expects it)."""
    fits = list(report.fits.values())
    best = fits[0]
    p, e = best.params, best.errors
    if report.kind == "salt_pepper":
        d = report.densities["impulse"].params
        return (f"looks like salt and pepper: {100 * d['fraction']:.1f}% of the pixels are impulses "
                f"({100 * d['pepper']:.1f}% pepper, {100 * d['salt']:.1f}% salt); the impulse density fits "
                f"{report.densities['impulse'].loglik - report.densities['gaussian'].loglik:.2f} nats/pixel better "
                "than a Gaussian")
    if report.kind == "jpeg":
        g = report.grid
        return (f"looks like JPEG compression: an 8×8 block grid (rows at offset {g.offsets[0]}, columns at "
                f"{g.offsets[1]}; jumps ×{g.ratios[0]:.3g} and ×{g.ratios[1]:.3g} the median offset's, "
                f"×{g.threshold:.3g} needed)")
    if report.kind == "unmeasured":
        return (f"too few flat blocks ({len(report.binned.mean)} intensity bins with {variance.MIN_BLOCKS} or more) "
                "to fit a noise model: try smaller blocks or a larger image")
    if report.kind == "clean":
        return (f"looks clean: the {next(iter(report.fits))} model's σ at mid-grey is "
                f"{sigma(variance.noise_at(next(iter(report.fits.values()))))}, below {sigma(CLEAN_SIGMA)}")
    margin = f"; BIC {fits[1].bic - best.bic:.0f} below the {fits[1].model} model's" if fits[1].bic > best.bic else \
        f"; the {fits[1].model} model is not {variance.BIC_MARGIN:g} BIC better with its extra parameter"
    text = {
        "additive": lambda: f"looks like additive Gaussian noise: flat variance, σ = {sigma(p['sigma'])} "
                            f"± {sigma(e['sigma'])}",
        "poisson": lambda: f"looks like Poisson: variance ∝ mean, gain {plus_minus(p['gain'], e['gain'])} "
                           f"(peak ≈ {1 / max(p['gain'], 1e-12):.3g})",
        "speckle": lambda: f"looks like speckle: variance ∝ mean², var {plus_minus(p['var'], e['var'])}",
        "rician": lambda: f"looks like Rician: a floor near black, σ = {sigma(p['sigma'])} ± {sigma(e['sigma'])}",
    }[best.model]()
    return text + margin


def fit_rows(report: Report) -> list[dict]:
    """One row per fitted parameter of every model: the tidy table of the CSV download and the CLI."""
    rows = []
    for fit in report.fits.values():
        for name, value in fit.params.items():
            rows.append({"analysis": "mean-variance", "model": fit.model, "parameter": name, "value": value,
                         "error": fit.errors[name], "aic": fit.aic, "bic": fit.bic, "ks": None, "loglik": None})
    for density in report.densities.values():
        for name, value in density.params.items():
            rows.append({"analysis": "histogram", "model": density.model, "parameter": name, "value": value,
                         "error": None, "aic": None, "bic": None, "ks": density.ks, "loglik": density.loglik})
    return rows


def summary(report: Report, sigma: Callable[[float], str] = lambda v: f"{255 * v:.2f}/255") -> dict:
    """The report as plain JSON types: kind, verdict, the fits, the binned scatter, whiteness and the JPEG grid."""
    spec, grid = report.spectrum, report.grid
    return {
        "kind": report.kind, "verdict": verdict(report, sigma), "residual_against": report.estimate,
        "variance_models": {f.model: {"formula": f.formula, "params": f.params, "errors": f.errors, "chi2": f.chi2,
                                      "aic": f.aic, "bic": f.bic} for f in report.fits.values()},
        "scatter": {"mean": report.binned.mean.tolist(), "variance": report.binned.variance.tolist(),
                    "error": report.binned.error.tolist(), "blocks": report.binned.count.tolist()},
        "densities": {d.model: {"params": d.params, "ks": d.ks, "loglik_per_pixel": d.loglik}
                      for d in report.densities.values()},
        "spectrum": {"flatness": spec.flatness, "above_frequency": spec.low_cut, "neighbour_correlation": spec.neighbour},
        "jpeg_grid": {"detected": grid.detected, "offsets": list(grid.offsets), "ratios": list(grid.ratios),
                      "threshold": grid.threshold, "in": "residual" if report.has_reference else "noisy image"},
    }


__all__ = ["Report", "analyse", "verdict", "plus_minus", "fit_rows", "summary", "SMOOTH_NAME"]
