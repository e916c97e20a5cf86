"""Noise-level estimation from a single image: Gaussian sigma and impulse (salt-and-pepper) density,
and for real noise the level per brightness and at a coarser scale.

``noise_level(image)`` returns ``{"sigma": ..., "impulse": ...}`` for white noise;
``real_noise_level(image)`` adds what real cameras and scanners make (signal-dependent, spatially
correlated noise) and is the ``level`` that ``apply.denoise`` hands to every denoiser's ``auto`` rule.
``level_map`` turns its noise-level function into a per-pixel map for the networks that take one.
``classifier.inference.predict(image)`` also names the noise type, with probabilities.
"""
from __future__ import annotations

import cv2
import numpy as np

from .image import check_array

# Immerkær's noise-estimation mask, [1, -2, 1] across times [1, -2, 1] down: blind to any
# quadratic shading. Its L2 norm is 6, so on white noise of std s the response has std 6·s.
_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_MASK_NORM = 6.0
_MAD_TO_STD = 0.6745  # median(|N(0, 1)|)
_FLAT_SHARE = 0.5  # share of the pixels, the flattest by Sobel gradient, whose residual is used
_EXTREME_TOL = 1 / 1024  # values this close to 0 or 1 can be impulses (8- and 16-bit files too)
_MIN_JUMP = 4 / 255  # an impulse differs from its 3×3 median by more than max(_MIN_JUMP, 3·local sigma)
_MIN_SAMPLES = 64
_BLOCK = 16  # side of the blocks over which the local noise level is measured
_MIN_BLOCK_SAMPLES = 16


def _channels(image: np.ndarray) -> list[np.ndarray]:
    image = check_array(image)
    if image.ndim == 2:
        return [image]
    return [np.ascontiguousarray(image[..., c]) for c in range(image.shape[2])]


def _channel_level(channel: np.ndarray, impulses: bool) -> tuple[float, float]:
    """(sigma, impulse fraction) of one channel; the fraction is only measured when ``impulses``."""
    low = np.abs(channel) <= _EXTREME_TOL  # the only values an impulse takes
    high = np.abs(channel - 1.0) <= _EXTREME_TOL
    extreme = low | high
    if min(channel.shape) < 3:
        diffs = np.abs(np.diff(channel, axis=int(channel.shape[1] > channel.shape[0])))
        return float(np.median(diffs) / (_MAD_TO_STD * np.sqrt(2.0))), 0.0
    residual = np.abs(cv2.filter2D(channel, cv2.CV_32F, _MASK)[1:-1, 1:-1])
    # Leave out every 3×3 window that touches a pixel at 0 or 1: impulses, and clipped noise.
    touched = cv2.dilate(extreme.astype(np.uint8), np.ones((3, 3), np.uint8))[1:-1, 1:-1].astype(bool)
    sigma = _sigma(channel, residual, touched, extreme)
    if not (impulses and extreme.any()):
        return sigma, 0.0
    return sigma, _impulses(channel, low, high, _local_sigma(residual, touched, sigma))


def _sigma(channel: np.ndarray, residual: np.ndarray, touched: np.ndarray, extreme: np.ndarray) -> float:
    gradient = (np.abs(cv2.Sobel(channel, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1])
                + np.abs(cv2.Sobel(channel, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]))
    if np.count_nonzero(~touched) >= _MIN_SAMPLES:
        residual, gradient = residual[~touched], gradient[~touched]
    elif extreme.any():
        return _sigma_sparse(channel, extreme)
    # The Sobel gradient is uncorrelated with the residual on white noise: selecting on it removes
    # edges without biasing the noise estimate.
    flat = residual[gradient <= np.quantile(gradient, _FLAT_SHARE)]
    return float(np.median(flat) / (_MAD_TO_STD * _MASK_NORM))


def _sigma_sparse(channel: np.ndarray, extreme: np.ndarray) -> float:
    """Sigma from row and column second differences free of 0/1 pixels (dense impulses)."""
    samples = []
    for x, e in ((channel, extreme), (channel.T, extreme.T)):
        second = np.abs(x[:, :-2] - 2 * x[:, 1:-1] + x[:, 2:])
        samples.append(second[~(e[:, :-2] | e[:, 1:-1] | e[:, 2:])])
    samples = np.concatenate(samples)
    if samples.size < _MIN_SAMPLES:
        return 0.0  # nothing but 0 and 1: a binary image, or impulses everywhere
    return float(np.median(samples) / (_MAD_TO_STD * np.sqrt(6.0)))


def _local_sigma(residual: np.ndarray, touched: np.ndarray, sigma: float) -> np.ndarray:
    """Noise sigma per _BLOCK×_BLOCK block, never below the global ``sigma`` (used where samples
    are few): blocks cut by clipping keep only their quieter windows."""
    height, width = residual.shape
    rows, cols = -(-height // _BLOCK), -(-width // _BLOCK)
    padded = np.full((rows * _BLOCK, cols * _BLOCK), np.inf, np.float32)
    padded[:height, :width] = np.where(touched, np.inf, residual)
    blocks = np.sort(padded.reshape(rows, _BLOCK, cols, _BLOCK).swapaxes(1, 2).reshape(rows, cols, -1),
                     axis=-1)
    count = np.isfinite(blocks).sum(axis=-1)
    middle = np.take_along_axis(blocks, (np.maximum(count, 1)[..., None] - 1) // 2, axis=-1)[..., 0]
    local = np.where(count >= _MIN_BLOCK_SAMPLES, middle / (_MAD_TO_STD * _MASK_NORM), 0.0)
    local = np.maximum(local, sigma).repeat(_BLOCK, axis=0).repeat(_BLOCK, axis=1)[:height, :width]
    return np.pad(local, 1, mode="edge")


def _impulses(channel: np.ndarray, low: np.ndarray, high: np.ndarray, local_sigma: np.ndarray) -> float:
    median = cv2.medianBlur(channel, 3)
    # How far from its neighbours a 0/1 pixel must be to count follows the local noise level, so
    # that clipped noise (Gaussian, speckle, Poisson) in bright or dark areas does not count.
    jump = np.maximum(_MIN_JUMP, 3.0 * local_sigma)
    pepper = np.count_nonzero(low & (median - channel > jump))
    salt = np.count_nonzero(high & (channel - median > jump))
    # An impulse is only visible where it differs from what it replaced: a black one on a dark
    # pixel is not. Divide by the share of the pixels where each kind would have been seen.
    seen_pepper = max(np.count_nonzero(median > jump), 1)
    seen_salt = max(np.count_nonzero(median < 1.0 - jump), 1)
    return float(min(1.0, pepper / seen_pepper + salt / seen_salt))


def _level(image: np.ndarray, impulses: bool = True) -> tuple[float, float]:
    levels = np.array([_channel_level(channel, impulses) for channel in _channels(image)])
    return float(levels[:, 0].mean()), float(levels[:, 1].mean())


def estimate_sigma(image: np.ndarray) -> float:
    """Estimate the standard deviation of additive Gaussian noise, in [0, 1] units.

    Immerkær's mask (two Laplacians' difference, "Fast noise variance estimation", CVIU 1996)
    removes the image up to quadratic shading; the median absolute response over the flattest
    half of the pixels (by Sobel gradient, as Tai and Yang 2008 exclude edges) gives a robust
    sigma. Windows touching a pixel at exactly 0 or 1 are left out, so impulses and clipped noise
    do not inflate it. Colour channels are estimated separately and averaged.

    Texture reads as noise: on clean photographs the estimate is about 0.5–3/255, so small sigmas
    are overestimated by that much in quadrature (+5% at 10/255, +1% at 50/255 on
    ``skimage.data.camera``). Clipped noise is weaker than its nominal sigma and is read so (-8% at
    50/255 on camera). With impulses denser than about 0.5, only row and column differences free
    of 0/1 pixels remain and the estimate is rougher.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image; values may stray outside [0, 1].

    Returns
    -------
    float
        Estimated sigma, ≥ 0.
    """
    return _level(image, impulses=False)[0]


def impulse_density(image: np.ndarray) -> float:
    """Estimate the fraction of pixels replaced by salt-and-pepper impulses (exactly 0 or 1).

    A pixel counts as an impulse when it is at 0 (or 1) and its 3×3 median is more than
    ``max(4/255, 3·sigma)`` above (below) it, ``sigma`` being the noise level of its 16×16 block
    (at least the global one), so saturated regions of natural images and clipped Gaussian,
    speckle or Poisson noise do not count. Impulses that land on pixels already near their value
    are invisible; the count is divided by the share of pixels where each kind would be visible.
    Colour channels are estimated separately and averaged.

    Measured on ``skimage.data`` camera and astronaut: within 2% for amounts 0.02–0.3, about -7%
    at 0.5; below 0.001 on clean photographs and on Gaussian noise (clipped or not). Isolated
    saturated points that are really there (stars, one-pixel black lines on white) count.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image.

    Returns
    -------
    float
        Estimated impulse fraction in [0, 1]; about 0 for clean or Gaussian-noisy images.
    """
    return _level(image)[1]


def noise_level(image: np.ndarray) -> dict[str, float]:
    """Estimate ``{"sigma": Gaussian std in [0, 1] units, "impulse": impulse fraction}`` of an image.

    The ``level`` passed to each denoiser's ``auto`` rule; see ``estimate_sigma`` and
    ``impulse_density`` for the methods and their accuracy.
    """
    sigma, impulse = _level(image)
    return {"sigma": sigma, "impulse": impulse}


# ---------------------------------------------------------------- real (camera, scanner) noise

_BINS = 8  # brightness bins of the noise-level function, of equal pixel counts
_MIN_BIN_SAMPLES = 32
_CORRELATED = 1.3
"""The coarse-scale level must exceed the pixel-scale one by this factor before the noise counts as
spatially correlated; white noise gives about 1 (texture a little more at low levels)."""


def _down2(channel: np.ndarray) -> np.ndarray:
    """The mean of each 2×2 block (an odd last row or column dropped)."""
    h, w = channel.shape[0] // 2 * 2, channel.shape[1] // 2 * 2
    return channel[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3), dtype=np.float32)


def _nlf_samples(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local mean, |Immerkær residual| / 6) of the flattest half of each brightness bin's pixels,
    leaving out windows that touch a value at 0 or 1 (clipped or impulses)."""
    extreme = (np.abs(channel) <= _EXTREME_TOL) | (np.abs(channel - 1.0) <= _EXTREME_TOL)
    touched = cv2.dilate(extreme.astype(np.uint8), np.ones((3, 3), np.uint8))[1:-1, 1:-1].astype(bool)
    residual = np.abs(cv2.filter2D(channel, cv2.CV_32F, _MASK)[1:-1, 1:-1]) / _MASK_NORM
    mean = cv2.blur(channel, (3, 3))[1:-1, 1:-1]
    gradient = (np.abs(cv2.Sobel(channel, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1])
                + np.abs(cv2.Sobel(channel, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]))
    keep = ~touched
    mean, residual, gradient = mean[keep], residual[keep], gradient[keep]
    if mean.size < _BINS * _MIN_BIN_SAMPLES:
        return np.empty(0, np.float32), np.empty(0, np.float32)
    edges = np.quantile(mean, np.linspace(0, 1, _BINS + 1))
    index = np.clip(np.searchsorted(edges, mean, side="right") - 1, 0, _BINS - 1)
    means, sigmas = [], []
    for b in range(_BINS):
        inside = index == b
        if np.count_nonzero(inside) < _MIN_BIN_SAMPLES:
            continue
        flat = gradient[inside] <= np.quantile(gradient[inside], _FLAT_SHARE)
        means.append(float(np.median(mean[inside][flat])))
        sigmas.append(float(np.median(residual[inside][flat]) / _MAD_TO_STD))
    return np.array(means, np.float32), np.array(sigmas, np.float32)


def noise_level_function(image: np.ndarray, *, scale: int = 1) -> dict[str, np.ndarray | float]:
    """The noise level per brightness, σ(μ), and its Poisson–Gaussian fit ``σ² = gain·μ + floor``.

    In each of 8 brightness bins (equal pixel counts, by the 3×3 local mean) the flattest half of
    the pixels by Sobel gradient gives a robust σ from Immerkær's residual, as
    :func:`estimate_sigma` does for the whole image; windows touching 0 or 1 are left out. ``scale``
    2 measures on the image averaged over 2×2 blocks and multiplies by 2, the level white noise
    would need to leave as much noise at that scale: noise that demosaicing, processing or JPEG
    made spatially correlated hides from the pixel scale and shows there. A colour image is
    measured on the mean of its channels (each channel's noise is taken to be alike).

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image.
    scale : {1, 2, 4}
        1: pixel scale; 2: the 2×-averaged image; 4: averaged twice.

    Returns
    -------
    dict
        ``mean`` and ``sigma`` (arrays, one value per bin with enough flat pixels, sigma in [0, 1]
        units at the pixel scale), ``gain`` (variance per unit brightness, ≥ 0: 1/peak for pure
        Poisson noise) and ``floor`` (the variance at black, ≥ 0) of the least-squares fit.
    """
    image = check_array(image)
    channel = image if image.ndim == 2 else np.ascontiguousarray(image.mean(axis=2), dtype=np.float32)
    for _ in range(int(np.log2(scale))):
        channel = _down2(channel)
    if min(channel.shape) < 3:
        return {"mean": np.empty(0, np.float32), "sigma": np.empty(0, np.float32), "gain": 0.0, "floor": 0.0}
    means, sigmas = _nlf_samples(np.ascontiguousarray(channel, dtype=np.float32))
    sigmas = sigmas * scale
    gain, floor = _fit_affine(means, sigmas ** 2)
    return {"mean": means, "sigma": sigmas, "gain": gain, "floor": floor}


def _fit_affine(means: np.ndarray, variances: np.ndarray) -> tuple[float, float]:
    """(gain, floor) ≥ 0 of ``variance = gain·mean + floor`` by least squares (a constant when one point)."""
    if means.size == 0:
        return 0.0, 0.0
    if means.size == 1 or np.ptp(means) < 1e-6:
        return 0.0, float(np.mean(variances))
    gain, floor = np.polyfit(means.astype(np.float64), variances.astype(np.float64), 1)
    if floor < 0:
        gain, floor = float(np.dot(means, variances) / np.dot(means, means)), 0.0
    if gain < 0:
        gain, floor = 0.0, float(np.mean(variances))
    return float(max(gain, 0.0)), float(max(floor, 0.0))


def _correlation(fine: dict, coarse: dict) -> float:
    """The lower quartile over brightness of the coarse-scale level over the pixel-scale one: about 1 for
    white noise, more for correlated noise. A low quantile, so that the bins where edges and texture
    inflate the coarse scale do not decide."""
    if fine["mean"].size == 0 or coarse["mean"].size == 0:
        return 1.0
    wide = np.interp(fine["mean"], coarse["mean"], coarse["sigma"])
    return float(np.quantile(wide / np.maximum(fine["sigma"], 1e-6), 0.25))


def real_noise_level(image: np.ndarray) -> dict[str, float]:
    """The noise level of a real photograph or scan: correlated and signal-dependent noise seen too.

    Starts from :func:`noise_level` (white Gaussian σ and impulse fraction) and the noise-level
    function (:func:`noise_level_function`). The same function measured on the 2×-averaged image
    says how correlated the noise is: the lower quartile over brightness of the two scales' ratio. Above
    1.3 the noise is spatially correlated (demosaicing, JPEG, a scanner's reconstruction) and
    ``sigma``, ``gain`` and ``floor`` are scaled by it (its square for the variances), to the level
    at which a white-noise denoiser removes it. On white noise the ratio is about 1 and ``sigma``
    is :func:`noise_level`'s. Impulses over 1% keep the white estimate.

    On the ``camera`` noise model (peak 30 and 100, spread 0.7 px, JPEG 90) it reads 50–80% of the
    noise's 2×-scale level ``2·std(2×2 block mean of the noise)`` on smooth photographs, where
    :func:`noise_level` reads 13–17%; strong texture reads as correlated noise (up to 100% on a
    BSD68 crop, where the auto rules then smooth too much).

    Returns
    -------
    dict
        ``sigma`` (the level for the ``auto`` rules, [0, 1] units), ``impulse``, ``sigma_white``
        (the pixel-scale estimate), ``gain`` and ``floor`` (the noise-level function
        ``σ² = gain·μ + floor``, scaled like ``sigma``) and ``correlation`` (the ratio).
    """
    level = noise_level(image)
    fine = noise_level_function(image)
    ratio = _correlation(fine, noise_level_function(image, scale=2))
    factor = ratio if ratio > _CORRELATED and level["impulse"] <= 0.01 else 1.0
    return {**level, "sigma": level["sigma"] * factor, "sigma_white": level["sigma"],
            "gain": fine["gain"] * factor ** 2, "floor": fine["floor"] * factor ** 2, "correlation": ratio}


SIGNAL_DEPENDENT = 2.0
"""The noise variance at 90% brightness must be this many times that at 10% for a level map to be used."""


def signal_dependent(gain: float, floor: float) -> bool:
    """Whether the fit ``σ² = gain·μ + floor`` grows enough with brightness to matter (see ``SIGNAL_DEPENDENT``)."""
    return gain > 0 and floor + 0.9 * gain >= SIGNAL_DEPENDENT * (floor + 0.1 * gain)


def level_map(image: np.ndarray, sigma: float, gain: float) -> np.ndarray:
    """A noise-level map for networks that take one: σ(x) with ``σ² = sigma² + gain·(μ(x) − mean)``.

    ``μ`` is the brightness smoothed by a Gaussian of 2 px (the channels' mean), ``mean`` its mean
    over the image, so ``sigma`` is the level at the image's mean brightness and ``gain`` the
    variance added per unit of brightness (1/peak for Poisson noise); the map never falls below
    ``sigma / 4``.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image.
    sigma : float
        Level at the mean brightness, [0, 1] units.
    gain : float
        Variance per unit brightness, ≥ 0.

    Returns
    -------
    ndarray
        (H, W) float32 map of noise standard deviations.
    """
    image = check_array(image)
    brightness = image if image.ndim == 2 else image.mean(axis=2)
    smooth = cv2.GaussianBlur(np.clip(brightness, 0, 1).astype(np.float32), (0, 0), 2.0)
    variance = sigma ** 2 + gain * (smooth - float(smooth.mean()))
    return np.sqrt(np.maximum(variance, (sigma / 4) ** 2)).astype(np.float32)
