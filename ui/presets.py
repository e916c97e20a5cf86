"""Lecture presets: one click sets the noise model, its parameters, the seed, a fitting sample and the
denoisers worth comparing on it. General presets teach the noise models; medical lessons walk through
one modality each; real-noise lessons add no noise (the sample is already noisy and has no clean
reference). Each has a note a lecturer can read aloud."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from denoise_core import registry

from . import cache, controls, state

GENERAL, MEDICAL, REAL = "Noise models", "Medical imaging", "Real noise"
GROUPS = (GENERAL, MEDICAL, REAL)
NO_NOISE = ""
"""A preset's ``model`` when it adds no noise: its sample is a real noisy image."""


@dataclass(frozen=True)
class Preset:
    label: str
    model: str                           # NO_NOISE: none added (the sample is already noisy)
    params: dict
    sample: str                          # the sample image it is shown on
    seed: int = 0
    methods: tuple[str, ...] = ()        # denoisers worth comparing on it (unregistered ones are left out)
    note: str = ""
    group: str = GENERAL


PRESETS = (
    Preset("Impulse noise at 5%", "salt_pepper", {"amount": 0.05, "salt_ratio": 0.5}, seed=0,
           sample="camera", methods=("median", "gaussian", "adaptive_median", "switching_mean"),
           note="A 3×3 median removes isolated impulses; a Gaussian blur only smears them. The adaptive median "
                "and the switching mean change only the impulses; the switching mean never lets one into its average."),
    Preset("Low-dose X-ray", "poisson", {"peak": 20.0}, seed=1, sample="xray",
           methods=("gaussian", "nlm", "bm3d"), note="Photon shot noise: variance x/peak, brighter is noisier."),
    Preset("MRI Rician", "rician", {"sigma": 0.05}, seed=2, sample="mri",
           methods=("nlm", "bm3d", "wavelet_bayes"), note="Magnitude of complex Gaussian noise: biased up in the dark background."),
    Preset("Mixed like a phone at night", "low_light", {"dim": 0.12, "peak": 400.0, "read_sigma": 0.01}, seed=3,
           sample="coffee", methods=("bilateral", "nlm", "bm3d"),
           note="Too little light, amplified: shot noise plus read noise."),
    Preset("Low-dose CT: FBP noise vs BM3D vs the CT models", "ct_lowdose", {"photons": 2000.0}, seed=0,
           sample="ct", methods=("bm3d", "ffdnet_gray_blind", "ffdnet_ct", "ffdnet_ct_lowdose"), group=MEDICAL,
           note="This slice was reconstructed from projections that received only 2000 photons per ray, as in a "
                "low-dose scan. Filtered back-projection turns the photon noise into streaks and fine grain that "
                "are correlated from pixel to pixel, strongest along rays through dense bone: it is not the white "
                "noise most denoisers were designed for. Compare the σ of the background region in HU (Region of "
                "interest tab), then look at the edge of the vertebra: BM3D assumes white noise and leaves "
                "blotches, the general learned model and the CT model (CT anatomy, white noise) smooth, and the "
                "low-dose CT model, trained on exactly this kind of noise, knows the streak pattern. Judge the "
                "soft tissue through the CT mediastinum window, not only by the PSNR."),
    Preset("X-ray detector noise", "poisson_gaussian", {"peak": 200.0, "read_sigma": 0.01}, seed=0,
           sample="xray", methods=("nlm", "bm3d", "ffdnet_gray_blind", "ffdnet_xray"), group=MEDICAL,
           note="A digital X-ray detector counts photons, so the noise has two parts: shot noise whose variance "
                "grows with the signal (200 quanta detected at white) and a constant electronic read noise "
                "(σ 0.01). "
                "The noise is therefore not the same everywhere: look at the bright bone and the dark "
                "background separately in the Noise Lab's residual. Then compare: non-local means and BM3D "
                "assume one noise level for the whole image, the learned models estimate it; watch the thin "
                "cortex of the fibula, where over-smoothing removes exactly what a radiologist looks at."),
    Preset("MRI at SNR 10", "rician_snr", {"snr": 10.0}, seed=0, sample="mri",
           methods=("nlm", "bm3d", "ffdnet_gray_blind", "ffdnet_mri"), group=MEDICAL,
           note="A magnitude MR image has Rician noise: Gaussian in the real and imaginary channels, but the "
                "magnitude is never negative. At an SNR of 10 the brain looks grainy and the air around the "
                "head is not black but a positive, Rayleigh-distributed floor. Point at the background: a "
                "Gaussian denoiser keeps that bias, so the contrast between tissue and air stays too low. "
                "Compare the white-matter region's SNR and the grey/white boundary across methods. The MRI "
                "model learned MR anatomy with Gaussian noise; like every method here it keeps the Rician "
                "floor in the air, which is why all the PSNRs stay low."),
    Preset("Real MRI noise: diffusion b=0, no clean image", NO_NOISE, {}, sample="dwi",
           methods=("nlm", "bm3d", "ffdnet_gray_blind", "ffdnet_mri"), group=REAL,
           note="No noise is added here: this diffusion MRI volume comes with its scanner's own noise, and "
                "there is no clean version of it. So PSNR and SSIM cannot be computed; the table shows what "
                "can be: the noise each result still holds, the method noise (what it removed) and whether it "
                "follows the edges, and the sharpness. The noise is not the white noise of the textbook: it is "
                "weak in the dark air, stronger in the brain, and correlated from pixel to pixel, so the "
                "estimate that 'auto' uses measures it per brightness and at a coarser scale. Look at the "
                "method noise in the Differences tab: a good result's method noise is grain with no anatomy "
                "in it; where the outline of the ventricles appears, the method removed signal. Move through "
                "the ten slices with the Slice slider. Then try the Pipeline page: its noise classifier, "
                "trained on synthetic noise, calls this image clean."),
    Preset("Real sensor noise: Hubble deep field", NO_NOISE, {}, sample="hubble",
           methods=("nlm", "bm3d", "wavelet_bayes", "drunet_color_blind"), group=REAL,
           note="No noise is added: this is a real telescope exposure, published as a JPEG. The dark sky is "
                "grain: photon and sensor noise, smeared over neighbouring pixels by the processing and the "
                "compression, plus coloured speckle. A white-noise estimator looking at single pixels sees "
                "about a third of it; measured at twice the scale it shows, and that is the level 'auto' "
                "hands to the denoisers. The question here is what a denoiser must not remove: the faintest "
                "galaxies are a few pixels wide and barely brighter than the grain. Compare the sharpness "
                "column and zoom into the small galaxies: a result can have a clean sky and have lost them. The "
                "noise classifier, trained on synthetic noise, calls this image clean: real noise is not what it "
                "learned."),
)


def methods(preset: Preset) -> list[str]:
    """The preset's denoisers that are registered here (a model whose weights are missing is left out)."""
    known = registry.names("denoiser")
    return [m for m in preset.methods if m in known]


def _set_noise(preset: Preset) -> str:
    """Put the preset's noise model, parameters and seed in the state; returns what it set, in words."""
    noise = registry.get(preset.model, "noise")
    state.put(state.NOISE, preset.model)
    state.put(state.NOISE_PARAMS, {**state.get(state.NOISE_PARAMS), preset.model: noise.resolve(preset.params)})
    state.put(state.SEED, preset.seed)
    return f"noise {noise.title} ({controls.format_params(noise.resolve(preset.params))}), seed {preset.seed}"


def apply(preset: Preset, *, with_methods: bool = False) -> None:
    """Callback: set the preset's noise, seed, sample (and methods, their parameters back to auto) in the
    state, and remember what changed, to say so on the page."""
    changed = ["no added noise (the image is already noisy)"] if preset.model == NO_NOISE else [_set_noise(preset)]
    if preset.sample != state.get(state.SAMPLE):
        image, meta = cache.load_sample(preset.sample)
        changed.insert(0, f"image: the {preset.sample} sample (was {state.get(state.SAMPLE) or 'your image'})")
        state.set_image(image, meta, sample=preset.sample)
    if with_methods:
        chosen = methods(preset)
        state.put(state.METHODS, chosen)
        state.put(state.METHOD_AUTO, {**state.get(state.METHOD_AUTO), **dict.fromkeys(chosen, True)})
        state.put(state.METHOD_PARAMS, {k: v for k, v in state.get(state.METHOD_PARAMS).items() if k not in chosen})
        for prefix in ("w.methods.", "w.auto.", "w.den."):
            state.forget_widgets(prefix)
        changed.append("methods " + ", ".join(controls.title(m) for m in chosen) + ", each on auto")
    state.forget_widgets("w.noise.")
    state.put(state.LESSON, (preset.label, "; ".join(changed)))


def buttons(*, with_methods: bool) -> None:
    """One button per preset, under a small heading per group (drawn where the caller is: the sidebar
    or an expander in it); the real-noise lessons only where methods are compared (``with_methods``)."""
    for group in GROUPS:
        members = [(i, p) for i, p in enumerate(PRESETS)
                   if p.group == group and (with_methods or p.model != NO_NOISE)]
        if not members:
            continue
        st.caption(group)
        for i, preset in members:
            st.button(preset.label, key=f"w.preset.{i}", on_click=apply, args=(preset,),
                      kwargs={"with_methods": with_methods}, width="stretch", help=preset.note)


def active() -> tuple[Preset, str] | None:
    """The preset applied last and what it changed, while its noise model (or, adding none, the real noisy
    image) and sample are still in use."""
    label, changed = state.get(state.LESSON) or (None, "")
    preset = next((p for p in PRESETS if p.label == label), None)
    if preset is None or preset.sample != state.get(state.SAMPLE):
        return None
    in_use = not state.get(state.HAS_CLEAN) if preset.model == NO_NOISE else preset.model == state.get(state.NOISE)
    return (preset, changed) if in_use else None


def show_note() -> None:
    """The active preset's note, for the lecturer to read aloud, what the preset set, and which of its
    models are missing."""
    found = active()
    if found is None:
        return
    preset, changed = found
    missing = [m for m in preset.methods if m not in registry.names("denoiser")]
    extra = (f"  \n*Not installed here, so left out: {', '.join(missing)}.*" if missing else "")
    heading = "Preset" if preset.group == GENERAL else "Lesson"
    st.info(f"**{heading}: {preset.label}.** {preset.note}  \n*Set: {changed}.*{extra}", icon=":material/school:")
