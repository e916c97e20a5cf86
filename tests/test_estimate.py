"""Noise-level estimation: stated accuracy on skimage images (never on the test sets)."""

import numpy as np
import pytest
from skimage import data

import denoise_core.noise  # noqa: F401  (registers the models)
from denoise_core.apply import add_noise
from denoise_core.errors import InvalidImageError
from denoise_core.estimate import estimate_sigma, impulse_density, noise_level


@pytest.fixture(scope="module")
def camera():
    return data.camera().astype(np.float32) / 255


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut().astype(np.float32) / 255


# Measured on camera, seed 0: unclipped 10.5, 15.6, 25.6, 50.6 (/255); clipped 10.4, 15.4, 24.6,
# 46.1. Texture reads as noise at small sigma (+5% at 10/255); clipping really removes noise
# at large sigma (-8% at 50/255). The tolerance is 10% throughout.
@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("sigma255", [10, 15, 25, 50])
def test_sigma_within_10_percent_on_camera(camera, sigma255, clip):
    noisy = add_noise(camera, "gaussian", {"sigma": sigma255 / 255, "clip": clip}, seed=0)
    assert abs(estimate_sigma(noisy) * 255 / sigma255 - 1) < 0.10


@pytest.mark.parametrize("sigma255", [10, 25, 50])
def test_sigma_colour_averages_channels(astronaut, sigma255):
    noisy = add_noise(astronaut, "gaussian", {"sigma": sigma255 / 255, "clip": False}, seed=1)
    assert abs(estimate_sigma(noisy) * 255 / sigma255 - 1) < 0.10


def test_sigma_small_on_clean_images(camera, astronaut):
    assert estimate_sigma(camera) < 2 / 255
    assert estimate_sigma(astronaut) < 3 / 255


@pytest.mark.parametrize("amount", [0.05, 0.3])
def test_impulses_do_not_inflate_sigma(camera, amount):
    impulses = add_noise(camera, "salt_pepper", {"amount": amount}, seed=0)
    assert estimate_sigma(impulses) < 2 / 255
    gaussian = add_noise(camera, "gaussian", {"sigma": 25 / 255}, seed=0)
    both = add_noise(gaussian, "salt_pepper", {"amount": amount}, seed=1)
    assert abs(estimate_sigma(both) * 255 / 25 - 1) < 0.10


# Measured on camera, seed 0: 0.0197, 0.0495, 0.1006, 0.1992, 0.2948 (within 2%).
@pytest.mark.parametrize("amount", [0.02, 0.05, 0.1, 0.2, 0.3])
def test_impulse_density_within_20_percent(camera, astronaut, amount):
    for image in (camera, astronaut):
        noisy = add_noise(image, "salt_pepper", {"amount": amount, "salt_ratio": 0.5}, seed=2)
        assert abs(impulse_density(noisy) / amount - 1) < 0.20


@pytest.mark.parametrize("salt_ratio", [0.0, 1.0])
def test_impulse_density_one_sided(camera, salt_ratio):
    noisy = add_noise(camera, "salt_pepper", {"amount": 0.1, "salt_ratio": salt_ratio}, seed=3)
    assert abs(impulse_density(noisy) / 0.1 - 1) < 0.20


def test_impulse_density_with_gaussian_noise(camera):
    gaussian = add_noise(camera, "gaussian", {"sigma": 25 / 255}, seed=0)
    noisy = add_noise(gaussian, "salt_pepper", {"amount": 0.1}, seed=1)
    assert abs(impulse_density(noisy) / 0.1 - 1) < 0.20


@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("sigma255", [10, 25, 50])
def test_no_impulses_in_gaussian_noise(camera, sigma255, clip):
    noisy = add_noise(camera, "gaussian", {"sigma": sigma255 / 255, "clip": clip}, seed=0)
    assert impulse_density(noisy) < 0.005


def test_no_impulses_in_clean_images(camera, astronaut):
    for image in (camera, astronaut, data.coins() / 255, data.moon() / 255, data.coffee() / 255):
        assert impulse_density(image) < 0.005


def test_clipped_speckle_is_not_impulses(camera):
    assert impulse_density(add_noise(camera, "speckle", {"var": 0.04}, seed=0)) < 0.005


def test_noise_level_keys_and_types(camera):
    noisy = add_noise(camera, "salt_pepper", {"amount": 0.1}, seed=0)
    level = noise_level(noisy)
    assert set(level) == {"sigma", "impulse"}
    assert all(type(v) is float for v in level.values())
    assert level == {"sigma": estimate_sigma(noisy), "impulse": impulse_density(noisy)}


def test_input_untouched(camera):
    noisy = add_noise(camera, "salt_pepper", {"amount": 0.1}, seed=0)
    before = noisy.copy()
    noise_level(noisy)
    assert np.array_equal(noisy, before)


def test_degenerate_images():
    assert noise_level(np.full((64, 64), 0.5, np.float32)) == {"sigma": 0.0, "impulse": 0.0}
    assert noise_level(np.zeros((64, 64), np.float32)) == {"sigma": 0.0, "impulse": 0.0}
    for shape in [(2, 2), (2, 50), (3, 3), (3, 3, 3)]:
        level = noise_level(np.random.default_rng(0).random(shape))
        assert level["sigma"] >= 0 and 0 <= level["impulse"] <= 1
    with pytest.raises(InvalidImageError):
        noise_level(np.zeros((1, 10)))
