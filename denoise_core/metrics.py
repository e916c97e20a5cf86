"""Image quality metrics, exactly as ``BENCHMARK.md`` defines them.

Each metric is a registered function ``f(reference, image) -> float`` that declares whether higher is
better and its range. Images are compared in [0, 1] units: ``image.read_image`` normalises each
source by its declared value range (e.g. 65535 for 16-bit, the DICOM ``BitsStored`` range), so the
data range is 1 by construction and is never guessed from the array's dtype. LPIPS needs weights
that cannot ship; until they are fetched it is listed as unavailable (``unavailable()``).
"""
from __future__ import annotations


import numpy as np
from skimage.metrics import structural_similarity

from . import registry, weights
from .box import Box
from .errors import InvalidImageError, WeightsError
from .image import check_array
from .registry import register

DATA_RANGE = 1.0
MAX_PSNR = 100.0
"""PSNR reported for identical images (an infinite value would break tables and charts)."""


def _pair(reference: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reference, image = check_array(reference, "reference"), check_array(image, "image")
    if reference.shape != image.shape:
        raise InvalidImageError(f"cannot compare images of shapes {reference.shape} and {image.shape}")
    return reference, np.clip(image, 0.0, DATA_RANGE)


@register("psnr", kind="metric", title="PSNR (dB)", higher_is_better=True, value_range=(0.0, MAX_PSNR))
def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    """Peak signal-to-noise ratio 10·log10(1 / MSE) in dB, on the image clipped to [0, 1], no border crop."""
    return psnr_of(mse(reference, image))


def psnr_of(mse_value: float) -> float:
    """The PSNR in dB of a mean squared error in [0, 1] units (at most ``MAX_PSNR``)."""
    return MAX_PSNR if mse_value == 0 else min(MAX_PSNR, float(10 * np.log10(DATA_RANGE**2 / mse_value)))


@register("ssim", kind="metric", title="SSIM", higher_is_better=True, value_range=(-1.0, 1.0))
def ssim(reference: np.ndarray, image: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004), Gaussian window σ=1.5, averaged over channels."""
    return float(ssim_map(reference, image).mean())


@register("mse", kind="metric", title="MSE", higher_is_better=False, value_range=(0.0, 1.0))
def mse(reference: np.ndarray, image: np.ndarray) -> float:
    """Mean squared error on the image clipped to [0, 1]."""
    reference, image = _pair(reference, image)
    return float(np.mean((reference.astype(np.float64) - image) ** 2))


@register("mae", kind="metric", title="MAE", higher_is_better=False, value_range=(0.0, 1.0))
def mae(reference: np.ndarray, image: np.ndarray) -> float:
    """Mean absolute error on the image clipped to [0, 1]."""
    reference, image = _pair(reference, image)
    return float(np.mean(np.abs(reference.astype(np.float64) - image)))


def ssim_map(reference: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM, (H, W), averaged over channels for colour; its mean is ``ssim``."""
    reference, image = _pair(reference, image)
    if min(reference.shape[:2]) < 7:
        raise InvalidImageError(f"SSIM needs images of at least 7×7 pixels, got {reference.shape[:2]}")
    channels = [reference] if reference.ndim == 2 else [reference[..., c] for c in range(reference.shape[2])]
    others = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
    maps = [structural_similarity(r, i, data_range=DATA_RANGE, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, full=True)[1] for r, i in zip(channels, others)]
    return np.mean(maps, axis=0).astype(np.float32)


def measure(reference: np.ndarray, image: np.ndarray, names: list[str] | None = None) -> dict[str, float]:
    """Every requested metric of ``image`` against ``reference``.

    By default all registered metrics that are ``available`` (LPIPS only once its weights are fetched);
    a metric named explicitly always runs and raises ``WeightsError`` if it cannot.
    """
    names = names or [name for name in registry.names("metric") if available(name)]
    return {name: registry.get(name, "metric").func(reference, image) for name in names}


# ------------------------------------------------------------------------------ regions of interest
def roi_metrics(reference: np.ndarray, image: np.ndarray, box: Box) -> dict[str, float]:
    """PSNR, MSE and MAE of the pixels inside ``box``, and the mean of the SSIM map over the box.

    The SSIM map is computed on the whole image, so pixels at the box's edge keep their real
    neighbours; PSNR/MSE/MAE use only the box's pixels, clipped to [0, 1] like the whole-image ones.
    """
    reference, image = _pair(reference, image)
    box.check(reference.shape)
    inside = measure(box.of(reference), box.of(image), ["psnr", "mse", "mae"])
    return {**inside, "ssim": float(box.of(ssim_map(reference, image)).mean())}


def _to_units(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    low, high = value_range
    return low + values.astype(np.float64) * (high - low)


def flat_region(image: np.ndarray, fraction: float = 0.125) -> Box:
    """The flattest square inside the object: of the squares (sides ``fraction`` of the shorter side, half a
    side apart) that lie wholly above Otsu's threshold (the object, not the air around a scan) and touch
    neither 0 nor 1 (no clipped or saturated pixels), the one with the smallest standard deviation: a
    background for SNR and CNR that is tissue, not empty space. Falls back to the flattest square of all."""
    from skimage.filters import threshold_otsu
    gray = np.asarray(check_array(image), np.float64)
    gray = gray if gray.ndim == 2 else gray.mean(axis=2)
    side = max(2, int(min(gray.shape) * fraction))
    step = max(1, side // 2)
    boxes = [Box(top, left, side, side) for top in range(0, gray.shape[0] - side + 1, step)
             for left in range(0, gray.shape[1] - side + 1, step)]
    level = threshold_otsu(gray) if np.ptp(gray) > 0 else -np.inf
    inside = [box for box in boxes if box.of(gray).min() > max(level, 0.0) and box.of(gray).max() < 1.0]
    return min(inside or boxes, key=lambda box: box.of(gray).std())


def no_reference(noisy: np.ndarray, result: np.ndarray) -> dict[str, float]:
    """What can be measured of a denoiser's ``result`` without a clean image.

    ``method_noise``: the std of the method noise ``noisy − result`` (what it removed; about the
    noise σ for a good denoiser). ``method_noise_edges``: the correlation of the method noise's
    local energy (5×5 mean of its square) with the result's gradient magnitude: near 0 when only
    noise was removed, larger when edges and texture went with it. ``noise_left``: the noise
    level still found in the result (``estimate.real_noise_level``). ``sharpness``: the variance
    of the result's Laplacian over the input's (1 for the input itself; noise counts as detail, so
    every denoiser lowers it, an over-smoothing one most).

    Parameters
    ----------
    noisy, result : ndarray
        The input and a denoiser's output, same shape, [0, 1] units.

    Returns
    -------
    dict
        ``method_noise``, ``method_noise_edges``, ``noise_left``, ``sharpness``.
    """
    import cv2

    from .estimate import real_noise_level

    noisy, result = _pair(noisy, result)
    noisy = noisy.astype(np.float32)
    result = result.astype(np.float32)
    removed = noisy - result
    gray = result if result.ndim == 2 else result.mean(axis=2)
    energy = cv2.blur((removed ** 2 if removed.ndim == 2 else (removed ** 2).mean(axis=2)), (5, 5))
    gradient = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    varies = energy.std() > 0 and gradient.std() > 0
    edges = float(np.corrcoef(energy.ravel(), gradient.ravel())[0, 1]) if varies else 0.0
    detail = float(np.var(cv2.Laplacian(noisy, cv2.CV_32F)))
    return {"method_noise": float(removed.std()), "method_noise_edges": edges,
            "noise_left": real_noise_level(result)["sigma"],
            "sharpness": float(np.var(cv2.Laplacian(result, cv2.CV_32F))) / detail if detail > 0 else 1.0}


def snr(image: np.ndarray, signal: Box, background: Box, value_range: tuple[float, float] = (0.0, 1.0)) -> float:
    """Mean of ``signal`` over the standard deviation of ``background`` (population std), in source units.

    ``value_range`` maps [0, 1] back to the source's units (``ImageMeta.value_range``: HU for CT), so
    the ratio is the one a radiologist measures on the scanner's values.
    """
    image = check_array(image)
    values = _to_units(image, value_range)
    noise = float(background.check(image.shape, "background").of(values).std())
    return float(signal.check(image.shape, "signal").of(values).mean()) / noise if noise > 0 else float("inf")


def cnr(image: np.ndarray, signal: Box, background: Box) -> float:
    """``|mean(signal) − mean(background)| / std(background)``: contrast over noise (unitless)."""
    image = check_array(image).astype(np.float64)
    inside = signal.check(image.shape, "signal").of(image)
    outside = background.check(image.shape, "background").of(image)
    noise = float(outside.std())
    contrast = abs(float(inside.mean()) - float(outside.mean()))
    return contrast / noise if noise > 0 else float("inf")


# ---------------------------------------------------------------------------------------- LPIPS
# Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018.
# AlexNet variant with the v0.1 linear heads. Its weights cannot ship with the project: they are
# fetched once with ``python -m denoise_core weights fetch lpips``; until then the metric is
# unavailable (``available("lpips")`` is False) and ``measure`` with ``names=None`` leaves it out.

LPIPS_FETCH = "python -m denoise_core weights fetch lpips"


def lpips_network(alexnet_path=None, linear_path=None):
    """The LPIPS AlexNet network with its weights, in eval mode.

    Parameters
    ----------
    alexnet_path, linear_path : path, optional
        The torchvision AlexNet ImageNet state dict and the v0.1 ``alex.pth``; by default the files
        fetched into the cache folder, checked against their sha256.

    Raises
    ------
    WeightsError
        A file is missing, corrupted or does not fit (the message names it and the fix).
    """
    import torch

    from .models import LPIPSAlex

    if alexnet_path is None or linear_path is None:
        fix = f"run: {LPIPS_FETCH}"
        paths = [weights.verify(path, item.sha256, fix)
                 for path, item in zip(weights.fetched_paths("lpips"), weights.DOWNLOADS["lpips"])]
        alexnet_path, linear_path = paths
    state = {}
    for path, prefix in ((alexnet_path, "features."), (linear_path, "lin")):
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise WeightsError(f"{path}: LPIPS weights file not found (run: {LPIPS_FETCH})") from None
        except Exception as error:
            raise WeightsError(f"{path}: unreadable LPIPS weights ({type(error).__name__}); run: {LPIPS_FETCH}") \
                from None
        state.update({k: v for k, v in loaded.items() if k.startswith(prefix)})
    network = LPIPSAlex()
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{alexnet_path}, {linear_path}: do not fit LPIPS AlexNet "
                           f"({str(error).strip().splitlines()[0]}); run: {LPIPS_FETCH}") from None
    return network.eval()


_LPIPS_CACHE: list = []


def _lpips_default():
    if not _LPIPS_CACHE:
        _LPIPS_CACHE.append(lpips_network())
    return _LPIPS_CACHE[0]


def lpips_distance(network, reference: np.ndarray, image: np.ndarray) -> float:
    """LPIPS of ``image`` against ``reference`` with a given ``network`` (see ``lpips_network``)."""
    reference, image = _pair(reference, image)
    if min(reference.shape[:2]) < 16:
        raise InvalidImageError(f"LPIPS needs images of at least 16×16 pixels, got {reference.shape[:2]}")
    import torch

    def tensor(array: np.ndarray):
        array = np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None] * 2 - 1

    with torch.inference_mode():
        return float(network(tensor(reference), tensor(image))[0])


def lpips_available() -> bool:
    """Whether the LPIPS weights were fetched (their sha256 is checked when the metric first runs)."""
    return weights.fetched("lpips")


@register("lpips", kind="metric", title="LPIPS (AlexNet)", higher_is_better=False, value_range=(0.0, 1.0),
          tags=("needs-weights",))
def lpips(reference: np.ndarray, image: np.ndarray) -> float:
    """Learned perceptual distance (LPIPS, AlexNet, v0.1 heads); 0 for identical images, lower is better.

    Gray images are replicated to three channels; inputs are scaled to [-1, 1]. Needs weights fetched
    once with ``python -m denoise_core weights fetch lpips`` (raises ``WeightsError`` until then).
    """
    return lpips_distance(_lpips_default(), reference, image)


AVAILABILITY = {"lpips": lpips_available}
"""Metrics that can be unavailable, with the check; the others are always available."""


def available(name: str) -> bool:
    """Whether metric ``name`` can run now (False for LPIPS before its weights are fetched)."""
    check = AVAILABILITY.get(name)
    return check is None or bool(check())


def unavailable() -> dict[str, str]:
    """The registered metrics that cannot run now, each with the one line that says how to enable it."""
    return {name: f"{registry.get(name, 'metric').title} is unavailable until its weights are fetched "
                  f"(run: {LPIPS_FETCH})" for name in AVAILABILITY if not available(name)}
