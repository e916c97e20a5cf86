"""Tuning a denoiser on the noisy image alone: self-supervised calibration by J-invariance.

A denoiser that never looks at a pixel to predict it (J-invariant) has an expected squared error
against the *noisy* image equal to its error against the clean one plus the noise variance, when the
noise is zero-mean and independent from pixel to pixel (Batson and Royer, ICML 2019). So the loss
``mean((f(interp(y)) − y)²)`` over a sparse grid of masked pixels, each replaced by the mean of its four
neighbours before denoising, ranks parameters as the true error would, with no clean image. This is
``skimage.restoration.calibrate_denoiser`` with ``approximate_loss`` (one denoiser call per grid point and
mask), written here to average two masks, to share the grid with the true PSNR and to report progress and
take a cancel. The chosen parameters are then applied to the whole noisy image by the plain denoiser
(which beats its J-invariant version).

The grid comes from the method's own schema (:func:`tuned_params`, :func:`grid`); the parameters it
does not vary keep the values of the method's ``auto`` rule at the blind noise estimate.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from scipy import ndimage

from . import registry
from .apply import denoise
from .errors import InvalidImageError, InvalidParameterError
from .estimate import noise_level
from .image import check_array
from .metrics import psnr
from .registry import FloatParam, IntParam, Method, Param

STRIDE = 4
"""Masked pixels are one in ``STRIDE`` along each axis: 1/16 of the image per mask."""
MASKS = ((0, 0), (2, 2))
"""Offsets of the masks averaged in the loss (each costs one denoiser call per grid point)."""
POINTS = {1: (12,), 2: (6, 3)}
"""Coarse grid points per tuned parameter, by how many parameters are tuned (at most ``MAX_TUNED``)."""
REFINE = ((-2 / 3, -1 / 3, 1 / 3, 2 / 3), (-1 / 6, 1 / 6))
"""Two refinements of a float's coarse step ``r``: around the best point so far, at ``r`` to these powers."""
MAX_TUNED = 2
DECADES = 3.0
"""A float parameter whose range starts at 0 (or spans more) is searched over its top ``DECADES`` decades."""
_PROBES = ({"sigma": 10 / 255, "impulse": 0.0}, {"sigma": 40 / 255, "impulse": 0.0},
           {"sigma": 10 / 255, "impulse": 0.3})
"""Noise levels at which an ``auto`` rule is asked which parameters follow the noise."""


def tuned_params(method: Method) -> tuple[Param, ...]:
    """The parameters the calibration varies, from the schema and the ``auto`` rule.

    Those numeric parameters that ``auto`` moves with the noise level (all numeric ones when the method
    has no ``auto``): the floats, or the integers when no float moves (window sizes). A ``sigma`` stays at
    the estimated noise level when another float moves with it (non-local means' ``h``, VisuShrink's
    ``scale``). At most ``MAX_TUNED``, in schema order. Cost parameters (search radius, cycle spinning)
    never move with the noise, so they keep their ``auto`` value.

    Raises
    ------
    InvalidParameterError
        When nothing can be tuned (a learned model without a noise-level input).
    """
    numeric = [p for p in method.params if isinstance(p, (FloatParam, IntParam))]
    if method.auto is not None:
        answers = [method.auto(level) for level in _PROBES]
        numeric = [p for p in numeric if len({repr(a.get(p.name)) for a in answers}) > 1]
    floats = [p for p in numeric if isinstance(p, FloatParam)]
    if len(floats) > 1:
        floats = [p for p in floats if p.name != "sigma"]
    chosen = floats or numeric
    if not chosen:
        raise InvalidParameterError(f"denoiser '{method.name}' has no parameter to tune"
                                    + (" (a learned model without a noise-level input)"
                                       if method.family == "learned" else "") + "; choose a classical method")
    return tuple(chosen[:MAX_TUNED])


def values(param: Param, count: int) -> list:
    """``count`` values spanning ``param``'s range: log-spaced for a float (its top ``DECADES`` decades),
    every allowed integer when they are at most ``count``, else ``count`` of them log-spaced."""
    if isinstance(param, FloatParam):
        lo = max(param.lo, param.hi * 10 ** -DECADES)
        return [param.check(float(f"{v:.4g}")) for v in np.geomspace(lo, param.hi, count)]
    allowed = list(range(param.lo, param.hi + 1, param.step))
    if len(allowed) <= count:
        return allowed
    picked = np.geomspace(max(param.lo, 1), param.hi, count)
    return sorted({min(allowed, key=lambda a: abs(a - v)) for v in picked})


def grid(method: Method) -> list[dict]:
    """The coarse grid: every combination of the tuned parameters' :func:`values` (at most 18 points).

    :func:`calibrate` adds the ``auto`` rule's point and refines around the best (:func:`refined`)."""
    tuned = tuned_params(method)
    axes = [values(p, n) for p, n in zip(tuned, POINTS[len(tuned)])]
    return [dict(zip((p.name for p in tuned), combo)) for combo in itertools.product(*axes)]


def refined(method: Method, centre: Mapping[str, Any], done: list[dict], powers: tuple[float, ...]) -> list[dict]:
    """Points around ``centre`` along the first tuned parameter when it is a float, at its coarse step to
    ``powers``, the other tuned values kept; those already in ``done`` are left out."""
    first = tuned_params(method)[0]
    if not isinstance(first, FloatParam):
        return []
    axis = values(first, POINTS[len(tuned_params(method))][0])
    step = axis[1] / axis[0]
    seen = [{k: row[k] for k in centre} for row in done]
    out = []
    for power in powers:
        value = first.check(float(f"{min(max(centre[first.name] * step ** power, first.lo), first.hi):.4g}"))
        point = {**centre, first.name: value}
        if point not in seen and point not in out:
            out.append(point)
    return out


def masked(noisy: np.ndarray, offset: tuple[int, int]) -> tuple[np.ndarray, tuple[slice, slice]]:
    """``noisy`` with the pixels of one mask (every ``STRIDE``-th, from ``offset``) replaced by the mean of
    their four neighbours, and the mask as slices."""
    cross = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float64) / 4
    kernel = cross if noisy.ndim == 2 else cross[..., None]
    interpolated = ndimage.convolve(noisy.astype(np.float64), kernel, mode="mirror")
    where = (slice(offset[0], None, STRIDE), slice(offset[1], None, STRIDE))
    out = noisy.astype(np.float32, copy=True)
    out[where] = interpolated[where]
    return out, where


@dataclass
class Calibration:
    """What :func:`calibrate` found: the grid with its self-supervised loss (and true PSNR with a clean
    reference), the chosen parameters and the ``auto`` rule's for comparison."""

    method: str
    tuned: tuple[str, ...]
    level: dict
    """The blind noise estimate ``auto`` starts from."""
    auto: dict
    """The ``auto`` rule's parameters at ``level`` (the defaults for a method without one)."""
    grid: list[dict]
    """One row per point tried: the tuned values, ``stage`` (``grid``: the coarse grid and the ``auto`` point;
    ``refined``: around the least loss; ``oracle``: around the best PSNR, with a clean reference, never
    chosen), ``loss`` and, with a clean reference, ``psnr``."""
    chosen: dict
    """Full parameters: ``auto`` with the tuned values of the point of least loss."""
    image: np.ndarray = field(repr=False)
    """The noisy image denoised with ``chosen``."""
    seconds: float
    auto_psnr: float | None = None
    chosen_psnr: float | None = None
    oracle: dict | None = None
    """Full parameters of the grid point of highest true PSNR (with a clean reference)."""
    oracle_psnr: float | None = None

    def record(self) -> dict:
        """Everything but the image, JSON-ready."""
        out = {"method": self.method, "tuned": list(self.tuned), "chosen": self.chosen, "grid": self.grid,
               "auto": self.auto, "level": self.level, "seconds": round(self.seconds, 3)}
        if self.oracle is not None:
            out.update(auto_psnr=self.auto_psnr, chosen_psnr=self.chosen_psnr, oracle=self.oracle,
                       oracle_psnr=self.oracle_psnr)
        return out


def calibrate(noisy: np.ndarray, method: str, *, clean: np.ndarray | None = None,
              progress: Callable[[int, int], None] | None = None,
              cancel: Callable[[], bool] | None = None) -> Calibration | None:
    """Choose ``method``'s parameters on ``noisy`` alone by the self-supervised (J-invariant) loss.

    Parameters
    ----------
    noisy : float32 array (H, W) or (H, W, 3)
        The noisy image (values may stray outside [0, 1]).
    method : str
        A registered denoiser with something to tune (:func:`tuned_params`).
    clean : array shaped like ``noisy``, optional
        The clean reference: adds the true PSNR of every grid point, the oracle's choice and the PSNR of
        the ``auto`` rule's and the chosen parameters. It never influences the choice.
    progress : callable(done, total), optional
        Called after each grid point.
    cancel : callable() -> bool, optional
        Asked before each grid point; True stops the run, which then returns None.

    Returns
    -------
    Calibration or None (cancelled)

    Raises
    ------
    UnknownMethodError, InvalidParameterError, InvalidImageError
        An unknown method, one with nothing to tune, a reference of another shape.
    """
    start = time.perf_counter()
    noisy = check_array(noisy)
    entry = registry.get(method, "denoiser")
    points = grid(entry)
    if clean is not None:
        clean = check_array(clean, "clean reference")
        if clean.shape != noisy.shape:
            raise InvalidImageError(f"the clean reference is {clean.shape}, the noisy image {noisy.shape}: "
                                    "give the reference of this very image")
    level = noise_level(noisy)
    auto = entry.resolve(None, level)
    inputs = [masked(noisy, offset) for offset in MASKS]
    tuned = [p.name for p in tuned_params(entry)]
    if _at(auto, tuned) not in points:
        points.append(_at(auto, tuned))
    total = len(points) + sum(map(len, REFINE)) * (1 + (clean is not None))
    rows: list[dict] = []

    def run(batch: list[dict], stage: str) -> bool:
        for point in batch:
            if cancel is not None and cancel():
                return False
            rows.append({**point, "stage": stage, **_evaluate(noisy, entry.name, {**auto, **point}, inputs, clean)})
            if progress is not None:
                progress(len(rows), total)
        return True

    if not run(points, "grid"):
        return None
    targets = [("loss", min, "refined")] + [("psnr", max, "oracle")] * (clean is not None)  # the oracle alike
    for score, pick, stage in targets:
        for powers in REFINE:
            centre = _at(pick(rows, key=lambda row: row[score]), tuned)
            if not run(refined(entry, centre, rows, powers), stage):
                return None
    if progress is not None:
        progress(total, total)
    return _result(noisy, entry, clean, level, auto, rows, start)


def _at(row: Mapping[str, Any], names: list[str]) -> dict:
    return {name: row[name] for name in names}


def _evaluate(noisy: np.ndarray, method: str, params: dict, inputs: list, clean: np.ndarray | None) -> dict:
    """The self-supervised loss of ``params`` (and, with ``clean``, the true PSNR of the plain denoiser)."""
    losses = [float(np.mean((denoise(image, method, params, auto=False)[where] - noisy[where]) ** 2))
              for image, where in inputs]
    row = {"loss": float(np.mean(losses))}
    if clean is not None:
        row["psnr"] = psnr(clean, denoise(noisy, method, params, auto=False))
    return row


def _result(noisy, entry: Method, clean, level: Mapping[str, float], auto: dict, rows: list[dict],
            start: float) -> Calibration:
    tuned = tuple(p.name for p in tuned_params(entry))
    best = min((row for row in rows if row["stage"] != "oracle"), key=lambda row: row["loss"])
    chosen = {**auto, **{name: best[name] for name in tuned}}
    image = denoise(noisy, entry.name, chosen, auto=False)
    result = Calibration(entry.name, tuned, {k: float(v) for k, v in level.items()}, auto, rows, chosen, image, 0.0)
    if clean is not None:
        top = max(rows, key=lambda row: row["psnr"])
        result.oracle = {**auto, **{name: top[name] for name in tuned}}
        result.oracle_psnr = top["psnr"]
        result.chosen_psnr = best["psnr"]
        result.auto_psnr = next(row["psnr"] for row in rows if _at(row, list(tuned)) == _at(auto, list(tuned)))
    result.seconds = time.perf_counter() - start
    return result


def point_label(row: Mapping[str, Any], tuned: tuple[str, ...]) -> str:
    """A grid point in one line, e.g. ``h=0.0631``."""
    return ", ".join(f"{name}={row[name]:.4g}" if isinstance(row[name], float) else f"{name}={row[name]}"
                     for name in tuned)
