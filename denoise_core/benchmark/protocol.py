"""The evaluation protocol: how one case (clean image, noise, seed, method) is made noisy, restored and scored.

Gaussian noise of ``sigma`` (0–255 scale) is drawn with ``numpy.random.default_rng(seed)``, seed 0
for the first image in sorted file order, 1 for the next, ...; the noisy image is not clipped;
metrics are computed on the output clipped to [0, 1]. ``evaluate`` (the ``eval`` command) measures
one method on one folder; a benchmark run measures each of its cases the same way, so ``bench``
and ``eval`` give the same numbers for the same images, noise and seeds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .. import registry
from ..apply import add_noise, denoise, resolve
from ..estimate import noise_level
from ..image import read_image
from ..metrics import measure
from ..timing import timed


def protocol_noise_params(noise: str, noise_params: Mapping[str, Any]) -> dict:
    """The noise parameters the protocol uses: Gaussian noise is unclipped unless ``clip`` is given."""
    return {"clip": False, **noise_params} if noise == "gaussian" else dict(noise_params)


def noisy_protocol(clean: np.ndarray, noise: str, noise_params: Mapping[str, Any], seed: int) -> np.ndarray:
    """The noisy input of the protocol; Gaussian noise is left unclipped, as in the literature."""
    return add_noise(clean, noise, protocol_noise_params(noise, noise_params), seed=seed)


def restore_case(clean: np.ndarray, method: str, *, noise: str, noise_params: Mapping[str, Any], seed: int,
                 params: Mapping[str, Any] | None = None, blind: bool = False, repeats: int = 1,
                 sigma_factor: float = 1.0) -> tuple[np.ndarray, float, dict]:
    """Add the protocol's noise to ``clean`` and denoise it with ``method`` (see ``measure_case``).

    ``sigma_factor`` ≠ 1 tells the method's ``auto`` rule that factor × the σ it would get (the true one, or the
    one estimated from the noisy image): a method given the wrong noise level.

    Returns
    -------
    restored : the denoised image
    seconds : float
        Time of the denoiser call alone.
    used : dict
        The exact parameters the denoiser ran with.
    """
    entry = registry.get(method, "denoiser")
    noisy = noisy_protocol(clean, noise, noise_params, seed)
    level = None if blind or noise != "gaussian" else {"sigma": noise_params["sigma"], "impulse": 0.0}
    if sigma_factor != 1:
        level = told_level(level or noise_level(noisy), sigma_factor)
    used = resolve(entry, noisy, params, level=level)
    restored, seconds = timed(lambda: denoise(noisy, method, used, auto=False), repeats)
    return restored, seconds, used


def told_level(level: Mapping[str, float], factor: float) -> dict:
    """``level`` with its σ multiplied by ``factor`` (clipped to [0, 1]): what a method is told, not the truth."""
    return {**level, "sigma": float(np.clip(level["sigma"] * factor, 0.0, 1.0))}


def measure_case(clean: np.ndarray, method: str, *, noise: str, noise_params: Mapping[str, Any], seed: int,
                 params: Mapping[str, Any] | None = None, blind: bool = False,
                 metrics: tuple[str, ...] | list[str] = ("psnr", "ssim"),
                 repeats: int = 1) -> tuple[dict[str, float], float, dict]:
    """Add the protocol's noise to ``clean``, denoise it with ``method`` and score the result.

    Parameters
    ----------
    clean : float32 array in [0, 1]
        The reference image.
    method : str
        A registered denoiser. Parameters not in ``params`` come from its ``auto`` rule.
    noise, noise_params, seed
        The noise model, its parameters and the seed of its generator.
    blind : bool
        False (the published tables' setting): ``auto`` gets the true Gaussian sigma. True: it gets
        the level estimated from the noisy image. Non-Gaussian noise is always blind.
    metrics : names of registered metrics
    repeats : int, at least 1
        1: one timed call. More: one warm-up call, then the median time of ``repeats`` calls.

    Returns
    -------
    scores : dict
        Metric name to value.
    seconds : float
        Time of the denoiser call alone.
    used : dict
        The exact parameters the denoiser ran with.
    """
    restored, seconds, used = restore_case(clean, method, noise=noise, noise_params=noise_params, seed=seed,
                                           params=params, blind=blind, repeats=repeats)
    return measure(clean, restored, list(metrics)), seconds, used


def evaluate(method: str, files: list[Path], *, noise: str = "gaussian", noise_params: Mapping[str, Any],
             params: Mapping[str, Any] | None = None, blind: bool = False) -> Iterator[dict]:
    """Yield one row per image: image, seed, psnr, ssim, seconds and the parameters used.

    Non-blind (the published tables' setting): a method's ``auto`` rule gets the true Gaussian sigma.
    Blind: it gets the level estimated from each noisy image.
    """
    registry.get(method, "denoiser")
    for seed, path in enumerate(files):
        clean, _ = read_image(path)
        scores, seconds, used = measure_case(clean, method, noise=noise, noise_params=noise_params, seed=seed,
                                             params=params, blind=blind)
        yield {"image": path.name, "seed": seed, "method": method, "noise": noise, **noise_params,
               **scores, "seconds": seconds, "params": used}


def summarise(rows: list[dict]) -> dict:
    """Mean PSNR and SSIM, and the median seconds per image, of ``evaluate`` rows."""
    return {"images": len(rows),
            "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "seconds_median": float(np.median([r["seconds"] for r in rows]))}
