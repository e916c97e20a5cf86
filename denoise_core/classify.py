"""Noise-type classification: hand-crafted statistics of the noise and a small MLP over them.

``predict(image)`` names the noise of an image (one of ``CLASSES``) with probabilities and its
strength. The features are intensive statistics, so they mean the same on a 96-pixel crop and on
a photograph: the estimated sigma and impulse density, how the noise std grows with intensity
(flat for Gaussian, ``sqrt`` for Poisson, linear for speckle), the share of pixels exactly at 0
or 1 and how many of them form thin strokes, 8×8 blockiness and DCT zeros on the JPEG grid, the
shape of the residual distribution and how the noise level changes at half resolution. They are
measured on the image rounded to 8 bits, as it would be saved, so an array and the PNG written
from it get the same answer.

The network is trained on noisy crops of train400 (``TRAIN_RANGES``) and checked on held-out
images (``EVAL_RANGES``; ``benchmarks/classifier_accuracy.py`` measures BSD68)::

    python -m denoise_core.classify train --out weights/noise_classifier
"""
from __future__ import annotations

import argparse
import sys
import time
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from scipy.optimize import nnls
from torch import nn
from tqdm.auto import tqdm

from .apply import add_noise
from .benchmark import image_files
from .errors import DenoiseError, InvalidImageError, WeightsError
from .estimate import estimate_sigma, impulse_density, noise_level
from .image import check_array, read_image
from .noise import mixed_recipe
from .recipe import DEFAULT_DATA
from .weights import WEIGHTS_DIR, save_weights, sha256, verify

CLASSES = ("clean", "gaussian", "salt_pepper", "speckle", "poisson", "jpeg", "scribbles", "mixed")
MIN_SIDE = 32
"""Smallest height and width ``predict`` accepts."""

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
        (H, W) or (H, W, 3) image, at least ``MIN_SIDE`` pixels a side; values are clipped to [0, 1].

    Returns
    -------
    ndarray
        float32 vector of ``len(FEATURES)`` values.
    """
    image = np.round(np.clip(check_array(image), 0.0, 1.0) * 255) / np.float32(255)
    planes = [image] if image.ndim == 2 else [np.ascontiguousarray(image[..., c]) for c in range(3)]
    return np.mean([_channel_features(plane) for plane in planes], axis=0).astype(np.float32)


# ------------------------------------------------------------------------------------ noisy samples
TRAIN_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "clean": {},
    "gaussian": {"sigma": (3 / 255, 60 / 255)},
    "salt_pepper": {"amount": (0.005, 0.3), "salt_ratio": (0.2, 0.8)},
    "speckle": {"var": (0.006, 0.15)},
    "poisson": {"peak": (3.0, 150.0)},
    "jpeg": {"quality": (5, 60)},
    "scribbles": {"count": (2, 30), "thickness": (1, 6), "cross_ratio": (0.05, 0.95)},
    "mixed": {"strength": (0.15, 1.0)},
}
"""Parameter ranges of the training samples, a bit wider than ``EVAL_RANGES``; floats are drawn
log-uniformly, so the weak end, where the classes are hardest to tell apart, is well covered."""

EVAL_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "clean": {},
    "gaussian": {"sigma": (5 / 255, 50 / 255)},
    "salt_pepper": {"amount": (0.01, 0.2)},
    "speckle": {"var": (0.01, 0.1)},
    "poisson": {"peak": (5.0, 100.0)},
    "jpeg": {"quality": (10, 50)},
    "scribbles": {"count": (4, 16), "thickness": (1, 3)},
    "mixed": {"strength": (0.3, 0.7)},
}
"""Parameter ranges of the validation and held-out samples, drawn uniformly; scribbles and mixed
around their registered defaults (count 8, thickness 2; strength 0.5)."""

_FAMILY = {"rician": "gaussian", "low_light": None}
_CROP_SIDES = (96, 512)
_COLOUR_SHARE = 0.25
_SATURATED_SHARE = 0.3  # photographs often have clipped shadows and highlights
_SOURCE_JPEG_SHARE = 0.5  # photographs usually arrive as good JPEGs: clean does not mean blockless
_SOURCE_JPEG_QUALITY = (85, 95)


def draw_params(ranges: dict[str, tuple[float, float]], rng: np.random.Generator, *,
                log_scale: bool = False) -> dict:
    """One value per parameter: integers uniformly in [lo, hi], floats uniformly (or log-uniformly)."""
    params = {}
    for name, (lo, hi) in ranges.items():
        if isinstance(lo, int) and isinstance(hi, int):
            params[name] = int(rng.integers(lo, hi + 1))
        elif log_scale:
            params[name] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        else:
            params[name] = float(rng.uniform(lo, hi))
    return params


def add_class_noise(image: np.ndarray, label: str, params: dict, rng: np.random.Generator) -> np.ndarray:
    """``image`` with the noise of class ``label`` (a registered noise model, or clean).

    ``mixed`` is the registered model with a seed whose recipe has components of at least two
    noise families: with one it is one of the other classes. Rician counts as Gaussian (they differ
    only near black), and low light not at all: ``mixed`` gives it a third to a half of the noise
    std of the other components at mid-grey, a trace beside them.
    """
    if label == "clean":
        return image
    seed = int(rng.integers(2 ** 31))
    while label == "mixed" and len(_families(mixed_recipe(seed, strength=params["strength"]))) < 2:
        seed = int(rng.integers(2 ** 31))
    return add_noise(image, label, params, seed=seed)


def _families(recipe: list[tuple[str, dict]]) -> set[str]:
    return {_FAMILY.get(name, name) for name, _ in recipe} - {None}


def _mosaic_crop(images: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A crop of 96–512 pixels a side from a mosaic of randomly turned tiles of ``images``."""
    side = np.exp(rng.uniform(*np.log(_CROP_SIDES)))
    height, width = int(side), int(side * rng.uniform(0.6, 1.0))
    if rng.random() < 0.5:
        height, width = width, height
    tile = min(min(image.shape) for image in images)
    rows = []
    for _ in range(-(-height // tile)):
        row = []
        for _ in range(-(-width // tile)):
            image = images[rng.integers(len(images))]
            top, left = (rng.integers(n - tile + 1) for n in image.shape)
            piece = np.rot90(image[top:top + tile, left:left + tile], rng.integers(4))
            row.append(piece[:, ::-1] if rng.random() < 0.5 else piece)
        rows.append(np.hstack(row))
    mosaic = np.vstack(rows)
    top, left = rng.integers(mosaic.shape[0] - height + 1), rng.integers(mosaic.shape[1] - width + 1)
    return np.ascontiguousarray(mosaic[top:top + height, left:left + width], dtype=np.float32)


def training_source(images: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A clean training image: a mosaic crop, by chance over-exposed (or under-exposed) until up to
    a tenth of it saturates, tinted to colour, saved as a good JPEG."""
    crop = _mosaic_crop(images, rng)
    if rng.random() < _SATURATED_SHARE:
        flip = rng.random() < 0.5
        crop = 1 - crop if flip else crop
        crop = np.clip(rng.uniform(1.1, 1.5) * (crop - np.quantile(crop, rng.uniform(0.0, 0.1))), 0.0, 1.0)
        crop = (1 - crop if flip else crop).astype(np.float32)
    if rng.random() < _COLOUR_SHARE:
        gain, gamma = rng.uniform(0.6, 1.0, 3), rng.uniform(0.7, 1.4, 3)
        crop = (gain * crop[..., None] ** gamma).astype(np.float32)
    if rng.random() < _SOURCE_JPEG_SHARE:
        crop = add_noise(crop, "jpeg", {"quality": int(rng.integers(_SOURCE_JPEG_QUALITY[0],
                                                                    _SOURCE_JPEG_QUALITY[1] + 1))})
    return crop


def synthetic_set(images: list[np.ndarray], per_class: int, ranges: dict, rng: np.random.Generator, *,
                  log_scale: bool, desc: str = "samples") -> tuple[np.ndarray, np.ndarray]:
    """Features and class indices of ``per_class`` noisy crops of each class."""
    rows, labels = [], []
    for _ in tqdm(range(per_class), desc=desc, file=sys.stderr):
        for label, name in enumerate(CLASSES):
            source = training_source(images, rng)
            rows.append(features(add_class_noise(source, name, draw_params(ranges[name], rng, log_scale=log_scale),
                                                 rng)))
            labels.append(label)
    return np.array(rows, np.float32), np.array(labels, np.int64)


# ------------------------------------------------------------------------------------------ network
class NoiseClassifier(nn.Module):
    """An MLP from ``FEATURES`` to ``CLASSES`` logits, two hidden layers; it standardises its input."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.register_buffer("mean", torch.zeros(len(FEATURES)))
        self.register_buffer("scale", torch.ones(len(FEATURES)))
        self.layers = nn.Sequential(nn.Linear(len(FEATURES), hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                    nn.GELU(), nn.Linear(hidden, len(CLASSES)))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.layers((inputs - self.mean) / self.scale)


def fit(inputs: np.ndarray, labels: np.ndarray, *, hidden: int = 64, epochs: int = 200, batch: int = 256,
        seed: int = 0) -> NoiseClassifier:
    """Train a ``NoiseClassifier`` with AdamW and a cosine learning rate; repeatable for a seed on one machine."""
    torch.manual_seed(seed)
    model = NoiseClassifier(hidden)
    x, y = torch.from_numpy(inputs), torch.from_numpy(labels)
    model.mean.copy_(x.mean(dim=0))
    model.scale.copy_(x.std(dim=0).clamp_min(1e-6))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-3)
    batches = -(-len(x) // batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs * batches)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for chosen in order.split(batch):
            loss = nn.functional.cross_entropy(model(x[chosen]), y[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


WEIGHTS_FILE = WEIGHTS_DIR / "noise_classifier.safetensors"
WEIGHTS_SHA256 = "dd8a4656372aa653d0dd819d4f7b6087fc0b6459ed165a4e5f09dd3709bc7d90"
"""sha256 of the shipped ``weights/noise_classifier.safetensors`` (see its model card)."""
_FIX = ("restore weights/noise_classifier.safetensors from the repository, or retrain it: "
        "python -m denoise_core.classify train --out weights/noise_classifier")


@lru_cache(maxsize=2)
def load_classifier(path: Path = WEIGHTS_FILE, expected_sha256: str = WEIGHTS_SHA256) -> NoiseClassifier:
    """The classifier stored at ``path`` after checking its sha256, in eval mode.

    Raises
    ------
    WeightsError
        The file is missing, corrupted, or was trained on other features or classes.
    """
    verify(path, expected_sha256, _FIX)
    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
            state = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"{path}: not a readable safetensors file ({error}); {_FIX}") from None
    if metadata.get("features") != ",".join(FEATURES) or metadata.get("classes") != ",".join(CLASSES):
        raise WeightsError(f"{path}: trained on other features or classes than this version computes; {_FIX}")
    model = NoiseClassifier(int(metadata.get("hidden", 64)))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{path}: does not fit the classifier ({str(error).splitlines()[0]}); {_FIX}") from None
    return model.eval()


# ---------------------------------------------------------------------------------------- inference
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


def _quantisation_step(coefficients: np.ndarray) -> int:
    """The largest step of which the non-zero ``coefficients`` are near multiples (1 when none is)."""
    for step in range(255, 1, -1):
        nonzero = coefficients[np.abs(coefficients) > step / 2]
        if len(nonzero) >= _MIN_COEFFICIENTS and np.mean(np.cos(2 * np.pi * nonzero / step)) > 0.8:
            return step
    return 1


def _jpeg_quality(image: np.ndarray) -> float:
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


_TYPE_LEVELS = {
    "speckle": ("var", speckle_var),
    "poisson": ("peak", lambda image: 1 / max(_curve_constant(image, 1), _FLOOR ** 2)),
    "jpeg": ("quality", _jpeg_quality),
}


def predict(image: np.ndarray) -> dict:
    """Name the noise of ``image``, with the probability of every class and the noise strength.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image in [0, 1], at least ``MIN_SIDE`` pixels high and wide.

    Returns
    -------
    dict
        ``{"type": class, "probabilities": {class: p, ...}, "level": {...}}``: ``level`` is
        ``estimate.noise_level`` (``sigma``, ``impulse``), plus, where it can be measured, the
        speckle ``var`` or the Poisson ``peak`` (the median over intensity bins of ``std²/x²`` or
        ``x/std²``, away from clipping) or the JPEG ``quality`` (from the quantisation steps), named
        as the registered noise models name them.

    Raises
    ------
    InvalidImageError
        Not an image, or smaller than ``MIN_SIDE`` pixels a side.
    WeightsError
        The classifier's weights file is missing or corrupted.
    """
    image = check_array(image)
    if min(image.shape[:2]) < MIN_SIDE:
        raise InvalidImageError(f"image: {image.shape[1]}x{image.shape[0]} pixels is too small to classify "
                                f"its noise (at least {MIN_SIDE}x{MIN_SIDE})")
    model = load_classifier()
    with torch.inference_mode():
        logits = model(torch.from_numpy(features(image))[None])[0].double()
    probabilities = torch.softmax(logits, dim=0).numpy()
    kind = CLASSES[int(probabilities.argmax())]
    level = noise_level(image)
    measure = _TYPE_LEVELS.get(kind)
    if measure is not None and np.isfinite(value := measure[1](image)):
        level[measure[0]] = value
    return {"type": kind, "probabilities": dict(zip(CLASSES, probabilities.tolist())), "level": level}


# --------------------------------------------------------------------------------------- evaluation
def confusion(truth: list[str], predicted: list[str]) -> np.ndarray:
    """Counts of (true class, predicted class), rows and columns in ``CLASSES`` order."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    for true, guess in zip(truth, predicted):
        matrix[CLASSES.index(true), CLASSES.index(guess)] += 1
    return matrix


def report(matrix: np.ndarray) -> str:
    """Markdown: overall accuracy, per-class recall and the confusion matrix (rows: true class)."""
    recall = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    lines = [f"Overall accuracy: {matrix.trace() / max(matrix.sum(), 1):.1%} ({matrix.trace()}/{matrix.sum()})",
             "", "| true \\ predicted | " + " | ".join(CLASSES) + " | recall |",
             "|---" * (len(CLASSES) + 2) + "|"]
    for name, row, value in zip(CLASSES, matrix, recall):
        lines.append(f"| **{name}** | " + " | ".join(str(n) for n in row) + f" | {value:.1%} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- training
def _gray_images(files: list[Path]) -> list[np.ndarray]:
    images = [read_image(path)[0] for path in files]
    return [image.mean(axis=2) if image.ndim == 3 else image for image in images]


def train(*, out: str | Path, data: str | Path = DEFAULT_DATA, per_class: int = 1500, val_images: int = 40,
          val_per_class: int = 100, hidden: int = 64, epochs: int = 200, seed: int = 0) -> Path:
    """Train the classifier on noisy crops of ``data`` and write ``<out>.safetensors``.

    The last ``val_images`` images (sorted by name) are held out: ``val_per_class`` crops per class
    from them, with noise drawn from ``EVAL_RANGES``, give the validation report printed at the end.

    Returns
    -------
    Path
        The weights file.
    """
    start = time.perf_counter()
    files = image_files(data)
    if len(files) <= val_images:
        raise InvalidImageError(f"{data}: {len(files)} images, need more than --val-images {val_images}")
    rng = np.random.default_rng(seed)
    inputs, labels = synthetic_set(_gray_images(files[:-val_images]), per_class, TRAIN_RANGES, rng,
                                   log_scale=True, desc="training samples")
    val_inputs, val_labels = synthetic_set(_gray_images(files[-val_images:]), val_per_class, EVAL_RANGES, rng,
                                           log_scale=False, desc="validation samples")
    model = fit(inputs, labels, hidden=hidden, epochs=epochs, seed=seed)
    with torch.inference_mode():
        guesses = model(torch.from_numpy(val_inputs)).argmax(dim=1).numpy()
    matrix = confusion([CLASSES[i] for i in val_labels], [CLASSES[i] for i in guesses])
    path = save_weights(out, model, {"features": ",".join(FEATURES), "classes": ",".join(CLASSES),
                                     "hidden": str(hidden), "samples": str(len(labels)), "seed": str(seed),
                                     "val_accuracy": f"{matrix.trace() / matrix.sum():.4f}"})
    print(f"validation on the last {val_images} images of {data}:\n{report(matrix)}\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, sha256 {sha256(path)}) "
          f"in {time.perf_counter() - start:.0f} s")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m denoise_core.classify train --out weights/noise_classifier [...]``."""
    parser = argparse.ArgumentParser(prog="python -m denoise_core.classify", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("train", help="train the noise-type classifier on a folder of clean images")
    p.add_argument("--out", required=True, help="weights path without suffix; writes OUT.safetensors")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder of clean training images (never a test set)")
    p.add_argument("--per-class", type=int, default=1500, help="training crops per class")
    p.add_argument("--val-images", type=int, default=40, help="last N images held out for validation")
    p.add_argument("--val-per-class", type=int, default=100, help="validation crops per class")
    p.add_argument("--hidden", type=int, default=64, help="width of the two hidden layers")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the network is too small to gain)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        train(out=args.out, data=args.data, per_class=args.per_class, val_images=args.val_images,
              val_per_class=args.val_per_class, hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    except DenoiseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
