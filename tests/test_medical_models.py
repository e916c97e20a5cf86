"""The per-modality models on the app's held-out medical samples: each beats the natural-image model
on its own modality, the CT models beat BM3D on low-dose CT noise (the route the pipeline's table
keeps for them), and the modality tags.

The samples are test slices: no model saw them in training (scripts/make_medical_data.py). The
margins are below the measured ones (in the comments); benchmarks/medical_models.py measures every
held-out slice and prints the pipeline's margins (pipeline.MARGINS).
"""
import numpy as np
import pytest

from denoise_core import denoise, pipeline, registry
from denoise_core.methods import learned
from denoise_core.benchmark import noisy_protocol
from denoise_core.metrics import psnr
from denoise_core.samples import load_sample

NATURAL = "ffdnet_gray_blind"


def score(method: str, clean: np.ndarray, noisy: np.ndarray, sigma: float | None = None) -> float:
    level = None if sigma is None else {"sigma": sigma, "impulse": 0.0}
    return psnr(clean, denoise(noisy, method, level=level))


# Gaussian σ 25, seed 0, true σ given (BENCHMARK.md). Measured (model / natural-image model):
# ct 32.80 / 32.56, xray 38.77 / 38.19, mri 33.02 / 32.16 dB.
@pytest.mark.parametrize("model, sample, margin", [("ffdnet_ct", "ct", 0.15), ("ffdnet_xray", "xray", 0.4),
                                                   ("ffdnet_mri", "mri", 0.6)])
def test_each_modality_model_beats_the_natural_image_model_on_its_own_modality(model, sample, margin):
    clean, _ = load_sample(sample)
    noisy = noisy_protocol(clean, "gaussian", {"sigma": 25 / 255}, 0)
    gained = score(model, clean, noisy, 25 / 255) - score(NATURAL, clean, noisy, 25 / 255)
    assert gained >= margin, f"{model} on {sample}: {gained:+.2f} dB over {NATURAL}"


# measured: noisy 27.54, BM3D at the estimated σ 34.58 (30.59 with the white-noise estimate, which misses
# most of the correlated FBP noise), ffdnet_ct (never saw this noise) 35.26 (33.97), ffdnet_ct_lowdose
# (trained on it, given the white estimate as in training) 35.60 dB
@pytest.mark.parametrize("model, margin", [("ffdnet_ct", 0.4), ("ffdnet_ct_lowdose", 0.8)])
def test_the_ct_models_earned_the_low_dose_route_and_beat_bm3d_on_it(model, margin):
    assert pipeline.earned(model, "ct_lowdose"), pipeline.MARGINS.get((model, "ct_lowdose"))
    clean, _ = load_sample("ct")
    noisy = noisy_protocol(clean, "ct_lowdose", {"photons": 1e4}, 0)
    assert score(model, clean, noisy) >= score("bm3d", clean, noisy) + margin


@pytest.mark.parametrize("model, modality, codes", [("ffdnet_ct", "CT", ("CT",)), ("ffdnet_mri", "MRI", ("MR", "MRI")),
                                                    ("ffdnet_xray", "X-ray", ("CR", "DX", "X-ray"))])
def test_the_registry_tags_each_model_with_its_modality(model, modality, codes):
    assert modality in registry.get(model, "denoiser").tags
    assert all(learned.modality_model(code) == model for code in codes)
    assert learned.modality_model("US") is None and learned.modality_model(None) is None


def test_the_low_dose_ct_model_is_the_ct_model_for_that_noise():
    assert "CT" in registry.get("ffdnet_ct_lowdose", "denoiser").tags
    assert learned.modality_model("CT", "ct_lowdose") == "ffdnet_ct_lowdose"
    assert learned.modality_model("MR", "ct_lowdose") is None
