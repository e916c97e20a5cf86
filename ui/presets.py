"""Lecture presets: one click sets the noise model, its parameters, the seed and a fitting sample."""
from __future__ import annotations

from dataclasses import dataclass

from denoise_core import registry

from . import cache, state


@dataclass(frozen=True)
class Preset:
    label: str
    model: str
    params: dict
    sample: str                          # the sample image it is shown on
    seed: int = 0
    methods: tuple[str, ...] = ()        # denoisers worth comparing on it
    note: str = ""


PRESETS = (
    Preset("Impulse noise at 5%", "salt_pepper", {"amount": 0.05, "salt_ratio": 0.5}, seed=0,
           sample="camera", methods=("median", "gaussian", "adaptive_median"),
           note="A 3×3 median removes isolated impulses; a Gaussian blur only smears them."),
    Preset("Low-dose X-ray", "poisson", {"peak": 20.0}, seed=1, sample="xray",
           methods=("gaussian", "nlm", "bm3d"), note="Photon shot noise: variance x/peak, brighter is noisier."),
    Preset("MRI Rician", "rician", {"sigma": 0.05}, seed=2, sample="mri",
           methods=("nlm", "bm3d", "wavelet_bayes"), note="Magnitude of complex Gaussian noise: biased up in the dark background."),
    Preset("Mixed like a phone at night", "low_light", {"dim": 0.12, "peak": 400.0, "read_sigma": 0.01}, seed=3,
           sample="coffee", methods=("bilateral", "nlm", "bm3d"),
           note="Too little light, amplified: shot noise plus read noise."),
)


def apply(preset: Preset, *, with_methods: bool = False) -> None:
    """Callback: set the preset's noise, seed, sample (and methods) in the state."""
    state.put(state.NOISE, preset.model)
    state.put(state.NOISE_PARAMS, {**state.get(state.NOISE_PARAMS),
                                   preset.model: registry.get(preset.model, "noise").resolve(preset.params)})
    state.put(state.SEED, preset.seed)
    if preset.sample != state.get(state.SAMPLE):
        image, meta = cache.load_sample(preset.sample)
        state.set_image(image, meta, sample=preset.sample)
    if with_methods:
        state.put(state.METHODS, list(preset.methods))
        state.forget_widgets("w.methods.")
    state.forget_widgets("w.noise.")
