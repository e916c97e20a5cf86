"""The classifier's input: statistics of an image's noise (``FEATURES``), and the level estimators
(speckle variance, Poisson peak, JPEG quality) built from the same measurements. No torch here."""
from __future__ import annotations

import cv2
import numpy as np

from ..estimate import estimate_sigma, impulse_density
from ..image import check_array

_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_MASK_GAIN = 6.0 * 255  # std of the mask's response to unit white noise, on the 8-bit scale
_MAD_TO_STD = 0.6745
_BLOCK = 16  # side of the blocks whose noise levels give the flattest and median block
_BINS = np.linspace(0.0, 1.0, 11)  # intensity bins of the noise-versus-intensity curve
_MIN_BIN = 64
_CURVE_RANGE = (0.04, 0.8)  # intensities where clipping hardly shrinks the noise
_STROKE_WINDOW = 15  # strokes are thinner than half of this: its median is their background
_MIN_STROKE = 16  # pixels in a connected stroke
_SHARP_EDGE = 0.5
_NEAR_EXTREME = 16 / 255
_STROKE_CONTRAST = 0.25  # a stroke pixel is darker (brighter) than its surroundings by this much
_MID_TONES = (0.25, 0.75)  # pepper is counted where the 3×3 median is above the first, salt below the second
_DCT = cv2.dct(np.eye(8, dtype=np.float32), flags=cv2.DCT_ROWS).T  # rows: the orthonormal 8-point DCT-II basis
_HIGH = np.add.outer(np.arange(8), np.arange(8)) >= 6
_HIGH_1D = slice(5, 8)
_ZERO_COEF = 1 / 255
_LUMA_TABLE = {(0, 1): 11, (1, 0): 12, (1, 1): 12, (0, 2): 10, (2, 0): 14}  # JPEG Annex K, luminance
_MIN_COEFFICIENTS = 16  # non-zero coefficients needed to read a quantisation step
_FLOOR = 1e-4
_ROUNDING_VARIANCE = 1 / (12 * 255 ** 2)

FEATURES = (
    "log_sigma", "log_impulse", "log_block_sigma_p10", "log_block_sigma_p50", "log_scale_ratio",
    "curve_slope", "curve_intercept", "curve_residual", "curve_span", "variance_constant", "variance_linear",
    "log_mid_tone_impulses", "isolated_share", "log_stroke_exact", "stroke_exact_share",
    "log_stroke_near", "log_blockiness", "grid_zero_gain", "dct_zeros", "dct_zeros_gain",
    "residual_zeros", "log_kurtosis", "tail_ratio",
)


def _log(value: float) -> float:
    return float(np.log10(value + _FLOOR))


def _blocks(values: np.ndarray, side: int) -> np.ndarray:
    """(rows·cols, side·side) blocks of ``values``, cropped to a multiple of ``side``."""
    height, width = (values.shape[0] // side) * side, (values.shape[1] // side) * side
    return values[:height, :width].reshape(height // side, side, width // side, side).swapaxes(1, 2).reshape(
        -1, side * side)


def _block_sigmas(residual: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Robust noise std of every 16×16 block with enough usable residuals."""
    values = _blocks(np.where(usable, np.abs(residual), np.nan), _BLOCK)
    enough = np.isfinite(values).sum(axis=1) >= _BLOCK
    if not enough.any():
        return np.zeros(1)
    return np.nanmedian(values[enough], axis=1) / _MAD_TO_STD


def _curve(channel: np.ndarray, residual: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean intensity, robust noise std) of every intensity bin of the flat pixels with enough of them."""
    local_mean = cv2.blur(channel, (3, 3))[1:-1, 1:-1][flat]
    spread = np.abs(residual[flat])
    index = np.digitize(local_mean, _BINS[1:-1])
    means, stds = [], []
    for b in range(len(_BINS) - 1):
        chosen = index == b
        if np.count_nonzero(chosen) >= _MIN_BIN:
            means.append(local_mean[chosen].mean())
            stds.append(np.median(spread[chosen]) / _MAD_TO_STD)
    return np.array(means), np.array(stds)


def _curve_fit(means: np.ndarray, stds: np.ndarray) -> tuple[float, float, float, float]:
    """Slope and intercept (at intensity 0.5) of log std against log intensity, rms residual, span."""
    inside = (means >= _CURVE_RANGE[0]) & (means <= _CURVE_RANGE[1]) & (stds > 0)
    if np.count_nonzero(inside) < 2:
        return 0.0, _log(float(stds.max(initial=0.0))), 0.0, 0.0
    x, y = np.log10(means[inside] / 0.5), np.log10(stds[inside] + _FLOOR)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sqrt(np.mean((y - slope * x - intercept) ** 2)))
    return float(slope), float(intercept), residual, float(x.max() - x.min())


def _variance_shares(means: np.ndarray, stds: np.ndarray) -> tuple[float, float]:
    """Shares of the constant and linear terms in the noise variance ``a + b·x + c·x²`` at x = 0.5.

    1, 0 for Gaussian noise, 0, 1 for Poisson, 0, 0 for speckle; fitted with non-negative terms.
    """
    from scipy.optimize import nnls  # heavy to import: loaded on the first classification
    inside = (means >= _CURVE_RANGE[0]) & (means <= _CURVE_RANGE[1])
    if np.count_nonzero(inside) < 3:
        return 1.0, 0.0
    x, variance = means[inside], stds[inside] ** 2 + _ROUNDING_VARIANCE
    terms, _ = nnls(np.stack([np.ones_like(x), x, x ** 2], axis=1) / variance[:, None], np.ones_like(x))
    at_half = terms * np.array([1.0, 0.5, 0.25])
    total = max(at_half.sum(), 1e-12)
    return float(at_half[0] / total), float(at_half[1] / total)


def _strokes(channel: np.ndarray, background: np.ndarray, contrast: float, tolerance: float) -> int:
    """Pixels of painted strokes: within ``tolerance`` of 0 (1), darker (brighter) than ``background``
    by ``contrast``, in 8-connected groups of at least ``_MIN_STROKE`` with a sharp edge.

    The edge is sharp when the pixels just outside a group differ from 0 (1) by at least
    ``_SHARP_EDGE`` of what the background does: painted strokes step straight to the background,
    saturated highlights and shadows of photographs fade into it.
    """
    total = 0
    for extreme, mask in ((0.0, (channel <= tolerance) & (background - channel > contrast)),
                          (1.0, (channel >= 1 - tolerance) & (channel - background > contrast))):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        large = stats[:, cv2.CC_STAT_AREA] >= _MIN_STROKE
        large[0] = False
        labels = np.where(large[labels], labels, 0).astype(np.float32)
        around = cv2.dilate(labels, np.ones((3, 3), np.uint8)).astype(np.int64)
        ring = (around > 0) & (labels == 0)
        edge = np.bincount(around[ring], np.abs(channel[ring] - extreme), count)
        base = np.bincount(around[ring], np.abs(background[ring] - extreme), count)
        sharp = large & (edge >= _SHARP_EDGE * base)
        total += int(stats[sharp, cv2.CC_STAT_AREA].sum())
    return total


def _blockiness(channel: np.ndarray) -> float:
    """Log of the strongest 8-periodic column (row) jump over the median one, averaged over both axes."""
    ratios = []
    for axis in (1, 0):
        jumps = np.abs(np.diff(channel, axis=axis)).mean(axis=1 - axis)
        per_offset = np.array([jumps[k::8].mean() for k in range(8)])
        ratios.append(np.log10((per_offset.max() + _FLOOR) / (np.median(per_offset) + _FLOOR)))
    return float(np.mean(ratios))


def _jpeg_grid(channel: np.ndarray) -> tuple[int, int, float]:
    """(top, left) of the 8×8 grid whose 8-point row and column DCTs have the most high-frequency
    zeros, and how many more they have there than at the median offset (about 0 unless JPEG)."""
    offsets, gains = [], []
    for plane in (channel, channel.T):
        count = (plane.shape[1] - 7) // 8
        shares = np.array([np.mean(np.abs(plane[:, k:k + 8 * count].reshape(len(plane), count, 8)
                                          @ _DCT[_HIGH_1D].T) < _ZERO_COEF) for k in range(8)])
        offsets.append(int(shares.argmax()))
        gains.append(shares.max() - np.median(shares))
    left, top = offsets
    return top, left, float(np.mean(gains))


def _dct_zeros(channel: np.ndarray, top: int, left: int) -> float:
    """Share of high-frequency 8×8 DCT coefficients below 1/255 on the grid starting at (top, left)."""
    blocks = _blocks(channel[top:, left:], 8).reshape(-1, 8, 8)
    if not len(blocks):
        return 0.0
    coefficients = _DCT @ blocks @ _DCT.T
    return float(np.mean(np.abs(coefficients[:, _HIGH]) < _ZERO_COEF))


def _residuals(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Immerkær's residual of an 8-bit channel, in 8-bit levels and in [0, 1] noise-std units, with the
    masks of its usable windows (none touches a 0 or 1, unless nearly all do) and of the flattest half."""
    extreme = (channel == 0) | (channel == 1)
    levels = cv2.filter2D(np.round(channel * 255), cv2.CV_32F, _MASK)[1:-1, 1:-1]
    touched = cv2.dilate(extreme.astype(np.uint8), np.ones((3, 3), np.uint8))[1:-1, 1:-1].astype(bool)
    usable = ~touched if np.count_nonzero(~touched) >= _MIN_BIN else np.ones_like(touched)
    gradient = (np.abs(cv2.Sobel(channel, cv2.CV_32F, 1, 0))
                + np.abs(cv2.Sobel(channel, cv2.CV_32F, 0, 1)))[1:-1, 1:-1]
    flat = usable & (gradient <= np.quantile(gradient[usable], 0.5))
    return levels, levels / _MASK_GAIN, usable, flat


def _scattered_extremes(channel: np.ndarray) -> int:
    """Pixels at exactly 0 or 1 outside the interior of saturated areas (black backgrounds, blown skies)."""
    total = 0
    for value in (0.0, 1.0):
        mask = channel == value
        interior = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        total += np.count_nonzero(mask & ~interior)
    return total


def _channel_features(channel: np.ndarray) -> list[float]:
    levels, residual, usable, flat = _residuals(channel)
    sigma = estimate_sigma(channel)
    half = cv2.resize(channel, (channel.shape[1] // 2, channel.shape[0] // 2), interpolation=cv2.INTER_AREA)
    block_sigmas = _block_sigmas(residual, usable)
    curve = _curve(channel, residual, flat)
    slope, intercept, curve_residual, span = _curve_fit(*curve)

    median = cv2.medianBlur(channel, 3)
    pepper, salt = (channel == 0) & (median >= _MID_TONES[0]), (channel == 1) & (median <= _MID_TONES[1])
    mid_tone_impulses = (np.count_nonzero(pepper) / max(np.count_nonzero(median >= _MID_TONES[0]), 1)
                         + np.count_nonzero(salt) / max(np.count_nonzero(median <= _MID_TONES[1]), 1))
    isolated = np.count_nonzero(pepper | salt)
    background = cv2.medianBlur(np.round(channel * 255).astype(np.uint8), _STROKE_WINDOW) / np.float32(255)
    contrast = max(_STROKE_CONTRAST, 3 * sigma)
    stroke_exact = _strokes(channel, background, contrast, 0.0)
    stroke_near = _strokes(channel, background, contrast, _NEAR_EXTREME)

    top, left, grid_gain = _jpeg_grid(channel)
    zeros = _dct_zeros(channel, top, left)
    shifted = _dct_zeros(channel, (top + 4) % 8, (left + 4) % 8)

    flat_residual = residual[flat].astype(np.float64)
    second, fourth = np.mean(flat_residual ** 2), np.mean(flat_residual ** 4)
    magnitude = np.abs(flat_residual)
    tail = (np.quantile(magnitude, 0.95) + _FLOOR) / (np.quantile(magnitude, 0.5) + _FLOOR)
    pixels = channel.size
    return [
        _log(sigma), _log(impulse_density(channel)), _log(np.quantile(block_sigmas, 0.1)),
        _log(np.quantile(block_sigmas, 0.5)), _log(2 * estimate_sigma(half)) - _log(sigma),
        slope, intercept, curve_residual, span, *_variance_shares(*curve),
        _log(mid_tone_impulses), isolated / max(_scattered_extremes(channel), 1),
        _log(stroke_exact / pixels), stroke_exact / max(stroke_exact + isolated, 1),
        _log(stroke_near / pixels), _blockiness(channel), grid_gain, zeros, zeros - shifted,
        float(np.mean(levels[usable] == 0)), float(np.log10(fourth / max(second ** 2, 1e-12) + _FLOOR)),
        float(np.log10(tail)),
    ]


def features(image: np.ndarray) -> np.ndarray:
    """The classifier's input: ``FEATURES`` measured on the 8-bit image, averaged over colour channels.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image, at least ``inference.MIN_SIDE`` pixels a side; values are clipped to [0, 1].

    Returns
    -------
    ndarray
        float32 vector of ``len(FEATURES)`` values.
    """
    image = np.round(np.clip(check_array(image), 0.0, 1.0) * 255) / np.float32(255)
    planes = [image] if image.ndim == 2 else [np.ascontiguousarray(image[..., c]) for c in range(3)]
    return np.mean([_channel_features(plane) for plane in planes], axis=0).astype(np.float32)


def _curve_constant(image: np.ndarray, power: int) -> float:
    """Median over intensity bins and channels of ``std² / mean**power`` (clipping-free bins only)."""
    image = np.round(np.clip(image, 0.0, 1.0) * 255) / np.float32(255)
    ratios = []
    for plane in [image] if image.ndim == 2 else [np.ascontiguousarray(image[..., c]) for c in range(3)]:
        _, residual, _, flat = _residuals(plane)
        means, stds = _curve(plane, residual, flat)
        inside = (means >= _CURVE_RANGE[0]) & (means <= _CURVE_RANGE[1])
        ratios.extend(stds[inside] ** 2 / means[inside] ** power)
    return float(np.median(ratios)) if ratios else float("nan")


def speckle_var(image: np.ndarray) -> float:
    """The speckle variance of ``y = x·(1 + n)`` measured from ``image``: the median over intensity bins
    of ``std² / mean²`` (NaN when no bin is usable)."""
    return _curve_constant(image, 2)


def poisson_peak(image: np.ndarray) -> float:
    """The Poisson peak of ``y ~ Poisson(peak·x)/peak`` measured from ``image``: one over the median over
    intensity bins of ``std² / mean``."""
    return 1 / max(_curve_constant(image, 1), _FLOOR ** 2)


def _quantisation_step(coefficients: np.ndarray) -> int:
    """The largest step of which the non-zero ``coefficients`` are near multiples (1 when none is)."""
    for step in range(255, 1, -1):
        nonzero = coefficients[np.abs(coefficients) > step / 2]
        if len(nonzero) >= _MIN_COEFFICIENTS and np.mean(np.cos(2 * np.pi * nonzero / step)) > 0.8:
            return step
    return 1


def jpeg_quality(image: np.ndarray) -> float:
    """IJG (Pillow, libjpeg) quality read off the quantisation steps of five low DCT frequencies of the luma.

    A step ``q`` of a frequency whose standard table entry is ``t`` means the scale ``s = 100·q/t``,
    which quality ``5000/s`` (below 50) or ``(200 - s)/2`` gives; the median over the frequencies is
    returned, nan when the steps are 1 (quality above about 88, or not a JPEG).
    """
    luma = image if image.ndim == 2 else image @ np.array([0.299, 0.587, 0.114], np.float32)
    luma = np.round(np.clip(luma, 0.0, 1.0) * 255)
    top, left, _ = _jpeg_grid(luma / 255)
    coefficients = _DCT @ _blocks(luma[top:, left:] - 128, 8).reshape(-1, 8, 8) @ _DCT.T
    qualities = []
    for (u, v), entry in _LUMA_TABLE.items():
        step = _quantisation_step(coefficients[:, u, v])
        if step > 1:
            scale = 100 * step / entry
            qualities.append(5000 / scale if scale > 100 else (200 - scale) / 2)
    return float(np.median(qualities)) if qualities else float("nan")
