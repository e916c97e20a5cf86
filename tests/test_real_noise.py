"""Real noise: the camera noise model, the noise-level function, the correlation-aware estimate, the
level map, the no-reference measures and the real noisy samples. Numbers measured with seed 0."""
from pathlib import Path

import numpy as np
import pytest

from denoise_core import metrics, samples
from denoise_core.apply import add_noise, denoise
from denoise_core.estimate import level_map, noise_level, noise_level_function, real_noise_level, signal_dependent
from denoise_core.image import read_image

SET12 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "set12"


def coarse_level(noise: np.ndarray) -> float:
    """The truth the estimate aims at: the std of the noise's 2×2 block means, times 2."""
    h, w = noise.shape[0] // 2 * 2, noise.shape[1] // 2 * 2
    return 2 * float(noise[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).std())


@pytest.fixture(scope="module")
def camera():
    return samples.load_sample("camera")[0][:256, 128:384]


# Measured on the camera crop: 2×-scale level 22.2 / 12.4 (/255); old estimate 0.13 / 0.14 of it,
# new 0.49 / 0.59.
@pytest.mark.parametrize("peak", [30, 100])
def test_estimate_sees_correlated_signal_dependent_noise(camera, peak):
    noisy = add_noise(camera, "camera", {"peak": peak}, seed=0)
    truth = coarse_level(noisy - camera)
    assert noise_level(noisy)["sigma"] < 0.2 * truth
    level = real_noise_level(noisy)
    assert 0.4 * truth < level["sigma"] < 0.8 * truth
    assert level["correlation"] > 2.5


@pytest.mark.parametrize("sigma255", [10, 25, 50])
def test_white_gaussian_keeps_the_old_estimate(camera, sigma255):
    noisy = add_noise(camera, "gaussian", {"sigma": sigma255 / 255, "clip": False}, seed=0)
    level = real_noise_level(noisy)
    assert level["correlation"] < 1.3
    assert level["sigma"] == noise_level(noisy)["sigma"]
    assert not signal_dependent(level["gain"], level["floor"])


def test_noise_level_function_of_poisson_noise(camera):
    noisy = add_noise(camera, "poisson", {"peak": 30.0}, seed=0)
    nlf = noise_level_function(noisy)
    assert abs(nlf["gain"] * 30 - 1) < 0.35  # variance x/peak: gain 1/30
    assert nlf["sigma"][-1] > 2 * nlf["sigma"][0]  # brighter is noisier
    assert signal_dependent(nlf["gain"], nlf["floor"])


def test_level_map_follows_brightness():
    image = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))
    flat = level_map(image, 0.05, 0.0)
    assert np.allclose(flat, 0.05)
    rising = level_map(image, 0.05, 0.01)
    assert rising[:, -1].mean() > 1.5 * rising[:, 0].mean()
    assert abs(float(rising[32, 32]) - 0.05) < 0.005  # the given sigma at the mean brightness


def auto_gain(image: np.ndarray, method: str, peak: float) -> float:
    """PSNR of ``method``'s auto with the new estimate minus with the white-Gaussian one."""
    noisy = add_noise(image, "camera", {"peak": peak}, seed=0)
    return (metrics.psnr(image, denoise(noisy, method, level=real_noise_level(noisy)))
            - metrics.psnr(image, denoise(noisy, method, level=noise_level(noisy))))


# Measured on 128² crops: NLM +4.63 dB and FFDNet (with its brightness map) +3.16 on the camera
# sample at peak 100; BM3D +2.15 at peak 30; on Set12 05 at peak 30 NLM +3.34, BM3D +2.20.
@pytest.mark.parametrize("method, margin", [("nlm", 3.5), ("ffdnet_gray_blind", 2.5)])
def test_auto_gains_on_camera_noise(camera, method, margin):
    assert auto_gain(camera[:128, :128], method, 100) > margin


def test_bm3d_auto_gains_on_camera_noise(camera):
    assert auto_gain(camera[:128, :128], "bm3d", 30) > 1.5


@pytest.mark.skipif(not SET12.is_dir(), reason="../shared/data/set12 is absent")
@pytest.mark.parametrize("method, margin", [("nlm", 2.5), ("bm3d", 1.5)])
def test_auto_gains_on_set12(method, margin):
    clean = read_image(SET12 / "05.png")[0][:128, :128]
    assert auto_gain(clean, method, 30) > margin


def test_learned_map_equals_one_level_when_flat(camera):
    from denoise_core import runner
    network = runner.load("ffdnet_gray_blind")
    noisy = add_noise(camera[:64, :64], "gaussian", {"sigma": 0.1}, seed=0)
    one = network(noisy, 0.1)
    assert np.allclose(network(noisy, np.full(noisy.shape, 0.1, np.float32)), one, atol=1e-5)
    drunet = runner.load("drunet_gray_blind")
    assert np.allclose(drunet(noisy, np.full(noisy.shape, 0.1, np.float32)), drunet(noisy, 0.1), atol=1e-5)


@pytest.mark.parametrize("name", ["dwi", "hubble"])
def test_real_samples_are_noisy_without_reference(name):
    sample = next(s for s in samples.samples() if s.name == name)
    assert sample.noisy and samples.is_noisy(name) and "no clean reference" in sample.description
    image, _ = samples.load_sample(name)
    level = real_noise_level(image)
    assert all(np.isfinite(v) for v in level.values())
    assert level["sigma"] > level["sigma_white"] > 0  # correlated: more at the 2× scale (dwi 1.54×, hubble 1.73×)
    assert signal_dependent(level["gain"], level["floor"])  # brighter is noisier in both
    assert not samples.is_noisy("camera")


def test_dwi_is_a_volume_of_ten_slices():
    image, meta = samples.load_sample("dwi", slice=9)
    assert image.shape == (128, 128) and meta.slices == 10 and meta.slice_index == 9


def test_no_reference_measures(camera):
    noisy = add_noise(camera, "gaussian", {"sigma": 25 / 255}, seed=0)
    smooth, blurred = denoise(noisy, "nlm"), denoise(noisy, "gaussian", {"width": 3.0})
    good, bad = metrics.no_reference(noisy, smooth), metrics.no_reference(noisy, blurred)
    assert abs(good["method_noise"] * 255 / 25 - 1) < 0.2
    assert bad["method_noise_edges"] > good["method_noise_edges"] + 0.3
    assert bad["sharpness"] < good["sharpness"] < 1
    assert good["noise_left"] < 0.3 * real_noise_level(noisy)["sigma"]
    same = metrics.no_reference(noisy, noisy)
    assert same["method_noise"] == 0 and same["sharpness"] == 1


@pytest.mark.parametrize("name", ["dwi", "hubble"])
def test_the_classifier_reads_the_real_samples(name):
    from denoise_core.classifier.inference import predict
    found = predict(samples.load_sample(name)[0])
    assert abs(sum(found["probabilities"].values()) - 1) < 1e-5 and found["type"] in found["probabilities"]
    assert found["level"]["sigma"] > 0
