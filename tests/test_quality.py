"""Quality tests with stated numbers (DeepInverse's ``test_denoiser_perf``): each denoiser must gain
at least a stated PSNR, in dB, over the noisy input on fixed crops and seeds.

Crops: 128×128 of ``skimage.data.camera()`` (gray) and ``skimage.data.astronaut()`` (colour).
Gaussian noise is unclipped (the evaluation protocol's convention). Blind runs estimate the noise
level from the image (``denoise`` with ``auto``); the non-blind run passes the true level. The
thresholds sit 0.4–0.8 dB below the gains measured when they were written (in the comments), so
a real regression fails.
"""
from functools import cache

import numpy as np
import pytest
from skimage import data, img_as_float32

from denoise_core import add_noise, denoise, names, weights
from denoise_core.methods import learned

CAMERA = np.ascontiguousarray(img_as_float32(data.camera())[64:192, 192:320])
ASTRONAUT = np.ascontiguousarray(img_as_float32(data.astronaut())[30:158, 170:298])
SIGMAS = (15, 25, 50)

# Minimum PSNR gain (dB) on the gray camera crop, blind, Gaussian sigma 15 / 25 / 50 (of 255),
# seeds 0 / 1 / 2. Measured: mean 2.48 5.43 7.29, median 2.87 4.27 7.14, gaussian 3.75 5.99 7.99,
# bilateral 5.81 6.83 8.20, wiener 4.92 5.71 7.74, nlm 6.31 7.80 9.43, nlm_fast 5.35 7.09 8.71,
# bm3d 7.25 8.96 10.82, wavelet_bayes 5.24 7.18 8.84, wavelet_visu 5.15 6.08 6.59,
# tv 5.92 7.51 9.37, anisotropic 5.74 7.23 8.80, adaptive_median 1.72 2.32 2.52, switching_mean 0.06 0.26 0.47,
# ffdnet_gray_blind 6.88 8.76 10.70, unet_gray_blind 5.90 8.02 9.69, autoencoder_gray_blind 2.70 6.26 9.37,
# dncnn_gray_blind 6.29 8.18 9.89, dncnn_s15 7.02 3.60 0.75, dncnn_s25 5.33 8.48 2.98, dncnn_s50 2.27 6.12 9.95,
# dncnn_color_blind 1.28 1.54 1.80 (a gray image reaches it as three equal channels, with equal noise),
# drunet_gray_blind 7.62 9.37 11.13, drunet_color_blind 4.09 4.07 4.28.
GAUSSIAN_GAIN = {
    "mean": (2.0, 4.9, 6.7),
    "median": (2.4, 3.8, 6.6),
    "gaussian": (3.3, 5.5, 7.4),
    "bilateral": (5.3, 6.3, 7.6),
    "wiener": (4.4, 5.2, 7.2),
    "nlm": (5.8, 7.3, 8.9),
    "nlm_fast": (4.8, 6.5, 8.1),
    "bm3d": (6.8, 8.5, 10.3),
    "wavelet_bayes": (4.7, 6.7, 8.3),
    "wavelet_visu": (4.6, 5.6, 6.0),
    "tv": (5.4, 7.0, 8.8),
    "anisotropic": (5.2, 6.7, 8.2),
    "adaptive_median": (1.2, 1.8, 2.0),  # made for impulses: it only replaces outliers
    "switching_mean": (0.0, 0.1, 0.2),  # only the pixels pushed past 0 or 1 change: it must not harm
    "ffdnet_gray_blind": (6.4, 8.3, 10.2),
    "unet_gray_blind": (5.4, 7.5, 9.2),
    "autoencoder_gray_blind": (2.2, 5.8, 8.9),  # it cannot pass fine detail through its two poolings
    "dncnn_gray_blind": (5.8, 7.7, 9.4),
    "dncnn_s15": (6.5, 3.1, 0.3),  # each DnCNN-S is made for one σ: at the others it under- or over-smooths
    "dncnn_s25": (4.8, 8.0, 2.5),
    "dncnn_s50": (1.8, 5.6, 9.4),
    "dncnn_color_blind": (0.8, 1.0, 1.3),  # a short CPU run, trained on independent noise per channel
    "drunet_gray_blind": (7.1, 8.8, 10.6),
    "drunet_color_blind": (3.6, 3.6, 3.8),  # trained on independent noise per channel, as above
}

# Minimum gain on the colour astronaut crop at sigma 25, seed 3, true level given (non-blind).
# Measured: mean 5.98, median 4.70, gaussian 6.42, bilateral 6.53, wiener 4.97, nlm 7.25,
# nlm_fast 3.50, bm3d 9.66, wavelet_bayes 8.42, wavelet_visu 6.93, tv 6.61, anisotropic 6.37,
# adaptive_median 2.25, switching_mean 0.08, ffdnet_gray_blind 7.37, unet_gray_blind 6.78, autoencoder_gray_blind 5.92,
# dncnn_gray_blind 6.86, dncnn_s15 3.44, dncnn_s25 7.17, dncnn_s50 4.64 (gray models, channel by channel),
# dncnn_color_blind 3.97 (a short CPU run), drunet_gray_blind 7.87, drunet_color_blind 9.61.
COLOUR_GAIN = {"drunet_gray_blind": 7.4, "drunet_color_blind": 9.1,"dncnn_gray_blind": 6.3, "dncnn_s15": 2.9, "dncnn_s25": 6.7, "dncnn_s50": 4.1, "dncnn_color_blind": 3.4,
               "ffdnet_gray_blind": 6.9, "unet_gray_blind": 6.3, "autoencoder_gray_blind": 5.4, "mean": 5.4, "median": 4.2, "gaussian": 5.9, "bilateral": 6.0, "wiener": 4.4, "nlm": 6.7,
               "nlm_fast": 3.0, "bm3d": 9.1, "wavelet_bayes": 7.9, "wavelet_visu": 6.4, "tv": 6.1,
               "anisotropic": 5.8, "adaptive_median": 1.7, "switching_mean": 0.0}

# Salt and pepper on the camera crop, seed 5, blind. Measured gains at amount 0.1 / 0.3:
# median 14.03 / 14.44, adaptive_median 18.35 / 19.14, switching_mean 22.82 / 21.94, gaussian 7.24 / 6.88.
IMPULSE_GAIN = {"median": 13.0, "adaptive_median": 17.5, "switching_mean": 22.0}


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(x, 0, 1).astype(np.float64) - y) ** 2)))


@cache
def noisy(image: str, noise: str, strength: float, seed: int) -> np.ndarray:
    clean = CAMERA if image == "camera" else ASTRONAUT
    params = {"sigma": strength / 255, "clip": False} if noise == "gaussian" else {"amount": strength}
    return add_noise(clean, noise, params, seed=seed)


@cache
def gain(method: str, image: str, noise: str, strength: float, seed: int, blind: bool = True) -> float:
    """PSNR of the denoised minus PSNR of the noisy image, in dB."""
    clean = CAMERA if image == "camera" else ASTRONAUT
    x = noisy(image, noise, strength, seed)
    level = None if blind else {"sigma": strength / 255, "impulse": 0.0}
    return psnr(denoise(x, method, level=level), clean) - psnr(x, clean)


def test_every_denoiser_has_thresholds():  # the models of one modality: tests/test_medical_models.py
    from denoise_core import get
    gaussian = {n for n in names("denoiser") if get(n, "denoiser").family == "classical"
                or n in weights.CATALOG and weights.CATALOG[n].noise == "gaussian" and not weights.CATALOG[n].modality}
    assert set(GAUSSIAN_GAIN) == set(COLOUR_GAIN) == gaussian


@pytest.mark.parametrize("method", sorted(GAUSSIAN_GAIN))
@pytest.mark.parametrize("index", range(len(SIGMAS)), ids=[f"sigma{s}" for s in SIGMAS])
def test_gaussian_gain_blind(method, index):
    measured = gain(method, "camera", "gaussian", SIGMAS[index], index)
    assert measured >= GAUSSIAN_GAIN[method][index], f"{method} σ{SIGMAS[index]}: {measured:.2f} dB"


@pytest.mark.parametrize("method", sorted(COLOUR_GAIN))
def test_colour_gain_non_blind(method):
    measured = gain(method, "astronaut", "gaussian", 25, 3, blind=False)
    assert measured >= COLOUR_GAIN[method], f"{method}: {measured:.2f} dB"


@pytest.mark.parametrize("method", sorted(IMPULSE_GAIN))
def test_salt_and_pepper_gain(method):
    measured = gain(method, "camera", "salt_pepper", 0.1, 5)
    assert measured >= IMPULSE_GAIN[method], f"{method}: {measured:.2f} dB"


def test_the_flagship_beats_bm3d_on_gaussian_noise_at_every_level():  # measured: +0.37, +0.41, +0.31 dB
    for index, sigma in enumerate(SIGMAS):
        margin = gain(learned.DEFAULT_GRAY, "camera", "gaussian", sigma, index) - gain("bm3d", "camera", "gaussian", sigma, index)
        assert margin >= 0.15, f"σ{sigma}: {margin:+.2f} dB"


def test_adaptive_median_beats_median_on_dense_impulses():
    assert gain("adaptive_median", "camera", "salt_pepper", 0.3, 5) >= gain("median", "camera", "salt_pepper", 0.3, 5) + 3.0


def test_switching_mean_beats_adaptive_median_on_dense_impulses():  # no impulse enters its average
    assert gain("switching_mean", "camera", "salt_pepper", 0.3, 5) >= gain("adaptive_median", "camera", "salt_pepper", 0.3, 5) + 2.0


def test_median_beats_gaussian_on_salt_and_pepper():
    assert gain("median", "camera", "salt_pepper", 0.1, 5) >= gain("gaussian", "camera", "salt_pepper", 0.1, 5) + 5.0


def test_bm3d_beats_gaussian_on_gaussian_noise():
    for index, sigma in enumerate(SIGMAS):
        assert gain("bm3d", "camera", "gaussian", sigma, index) >= gain("gaussian", "camera", "gaussian", sigma, index) + 2.0


def test_unsharp_mask_restores_detail_lost_to_blur():
    from scipy import ndimage
    from denoise_core.apply import enhance
    blurred = ndimage.gaussian_filter(CAMERA, 1.0)
    sharpened = enhance(blurred, "unsharp_mask", {"amount": 1.0, "radius": 1.0, "threshold": 0.0})
    assert psnr(sharpened, CAMERA) >= psnr(blurred, CAMERA) + 1.8  # measured +2.26 dB
    assert np.array_equal(enhance(CAMERA, "unsharp_mask", {"amount": 0.0}), CAMERA)
