"""The automatic pipeline: classify the noise → denoise by a rule table → sharpen → super-resolve.

For an image with no clean reference and an unknown noise type. Every stage keeps its output, its
parameters, its time and a one-line reason, and the caller may override any choice. The record
(``Result.record``) is plain JSON, so a run can be stored and repeated.

The rule table (``ROUTES``) maps each noise type to a chain of classical denoisers. A learned model
takes a route's place only where ``MARGINS`` holds a positive measured margin over that chain, on
images held apart from its training and from the choice of routes: the specialist trained for the
noise type (``benchmarks/specialists.py`` on BSD68), or for a CT, X-ray or MRI image (the DICOM
modality tag) the model trained on that modality (``benchmarks/medical_models.py`` on held-out
slices). ``benchmarks/pipeline_vs_hindsight.py`` measures the table against the best single method
per image. Parameters come from each method's ``auto`` rule for the noise level estimated before
that step (the classifier's level for the first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from . import registry, weights
from .apply import denoise, enhance, resolve
from .errors import InvalidParameterError
from .classifier.inference import predict
from .estimate import real_noise_level
from .image import check_array
from .methods import learned
from .timing import timed


@dataclass(frozen=True)
class Route:
    """The denoising chain for one noise type (registered denoisers, run in order), and why."""

    steps: tuple[str, ...]
    reason: str
    specialist: str = ""
    """The learned model trained for this noise type: it replaces ``steps`` when its weights are present
    and ``MARGINS`` holds a positive margin for it."""


@dataclass(frozen=True)
class Margin:
    """A learned model's measured mean-PSNR margin over a noise type's classical route, and where."""

    db: float
    """The least margin over the noise settings measured, in dB (positive: the model wins)."""
    measured: str
    """The held-apart images, the settings and the benchmark, as a phrase ("on 12 images of ...")."""


ROUTES: dict[str, Route] = {
    "clean": Route((), "no noise detected: the image is left as it is"),
    "gaussian": Route(("bm3d",), "additive white noise: BM3D at the estimated sigma is the strongest general method"),
    "salt_pepper": Route(("switching_mean",), "impulses: the switching mean redraws only the pixels at 0 or 1, "
                                              "from their clean neighbours", specialist="ffdnet_salt_pepper"),
    "speckle": Route(("bm3d",), "multiplicative noise: BM3D at the image's RMS noise (from the speckle variance)",
                     specialist="ffdnet_speckle"),
    "poisson": Route(("bm3d",), "photon noise: BM3D at the estimated (average) sigma", specialist="ffdnet_poisson"),
    "jpeg": Route(("tv",), "compression artefacts: total variation flattens blocks and ringing, keeps edges"),
    "scribbles": Route(("switching_mean",), "pure black or white strokes: the switching mean redraws the stroke "
                                            "pixels from their surroundings", specialist="ffdnet_salt_pepper"),
    "mixed": Route(("switching_mean", "bm3d"),
                   "several noises: first fill the impulses (switching mean), then remove the rest (BM3D)",
                   specialist="ffdnet_mixed"),
    "ct_lowdose": Route(("bm3d",), "low-dose CT (photon noise on the projections, streaky after back-projection): "
                                   "BM3D at the estimated sigma"),
}
SR_SCALES = {"x2": 2, "x3": 3, "x4": 4}
MARGINS: dict[tuple[str, str], Margin] = {
    ("ffdnet_ct", "gaussian"): Margin(-0.84, "on 2 held-out CT slices at Gaussian σ15, Gaussian σ25, Gaussian σ50 (the least; benchmarks/medical_models.py)"),
    ("ffdnet_ct", "poisson"): Margin(-0.18, "on 2 held-out CT slices at Poisson peak 10, Poisson peak 50 (the least; benchmarks/medical_models.py)"),
    ("ffdnet_ct_lowdose", "ct_lowdose"): Margin(+4.30, "on 2 held-out CT slices at low-dose CT 2e+03 photons, low-dose CT 1e+04 photons, low-dose CT 1e+05 photons (the least; benchmarks/medical_models.py)"),
    ("ffdnet_ct", "ct_lowdose"): Margin(+3.08, "on 2 held-out CT slices at low-dose CT 2e+03 photons, low-dose CT 1e+04 photons, low-dose CT 1e+05 photons (the least; benchmarks/medical_models.py)"),
    ("ffdnet_xray", "gaussian"): Margin(-1.48, "on 2 held-out X-ray slices at Gaussian σ15, Gaussian σ25, Gaussian σ50 (the least; benchmarks/medical_models.py)"),
    ("ffdnet_xray", "poisson"): Margin(-0.56, "on 2 held-out X-ray slices at Poisson peak 10, Poisson peak 50 (the least; benchmarks/medical_models.py)"),
    ("ffdnet_mri", "gaussian"): Margin(-0.97, "on 4 held-out MRI slices at Gaussian σ15, Gaussian σ25, Gaussian σ50 (the least; benchmarks/medical_models.py)"),
    ("ffdnet_mri", "poisson"): Margin(+0.02, "on 4 held-out MRI slices at Poisson peak 10, Poisson peak 50 (the least; benchmarks/medical_models.py)"),
    ("ffdnet_poisson", "poisson"): Margin(+0.80, "on 12 images of bsd68 at Poisson peak 10, Poisson peak 50 (the least; benchmarks/specialists.py)"),
    ("ffdnet_speckle", "speckle"): Margin(+1.78, "on 12 images of bsd68 at speckle var 0.02, speckle var 0.08 (the least; benchmarks/specialists.py)"),
    ("ffdnet_salt_pepper", "salt_pepper"): Margin(+3.02, "on 12 images of bsd68 at salt & pepper 5%, salt & pepper 20% (the least; benchmarks/specialists.py)"),
    ("ffdnet_salt_pepper", "scribbles"): Margin(+1.03, "on 12 images of bsd68 at scribbles, 8 strokes (the least; benchmarks/specialists.py)"),
    ("ffdnet_mixed", "mixed"): Margin(+0.29, "on 12 images of bsd68 at mixed, strength 0.5 (the least; benchmarks/specialists.py)"),
}
"""(learned model, noise type) -> its measured margin over ``ROUTES[noise type].steps``; a model takes
that route only with a positive margin. A retrained model earns its route back by an update of these
lines: ``python benchmarks/medical_models.py`` (the modality models, on held-out slices) and ``python
benchmarks/specialists.py --data ../shared/data/bsd68 --images 12`` (the specialists) end by printing
them, to paste here."""
CHOSEN_ONLY = ("ct_lowdose",)
"""Noise types the classifier does not name: the user chooses them (``noise_type``)."""


@dataclass
class Stage:
    """One stage of a run: what ran, with which parameters, why, how long, and its output."""

    stage: str
    method: str
    params: dict
    reason: str
    seconds: float
    image: np.ndarray = field(repr=False)

    def record(self) -> dict:
        return {"stage": self.stage, "method": self.method, "params": self.params, "reason": self.reason,
                "seconds": round(self.seconds, 3), "shape": list(self.image.shape)}


@dataclass
class Result:
    """A pipeline run: the classification and every stage (the first is the input)."""

    classification: dict
    stages: list[Stage]
    modality: str | None = None

    @property
    def image(self) -> np.ndarray:
        """The final image."""
        return self.stages[-1].image

    def record(self) -> dict:
        """The run as JSON-ready data: classification, stages (method, params, reason, seconds)."""
        return {"classification": self.classification, "modality": self.modality,
                "stages": [s.record() for s in self.stages]}


def earned(model: str, noise_type: str) -> Margin | None:
    """The margin by which ``model`` takes ``noise_type``'s route: its ``MARGINS`` entry when positive
    and the model is registered, else None."""
    margin = MARGINS.get((model, noise_type))
    return margin if margin is not None and margin.db > 0 and model in learned.registered() else None


def route(noise_type: str) -> list[tuple[str, str]]:
    """The (method, reason) chain the rule table gives ``noise_type``: its specialist where it earned
    the route, else the classical chain."""
    if noise_type not in ROUTES:
        raise InvalidParameterError(f"unknown noise type '{noise_type}' (known: {', '.join(ROUTES)})")
    rule = ROUTES[noise_type]
    margin = earned(rule.specialist, noise_type)
    if margin:
        trained = weights.CATALOG[rule.specialist].noise.replace("_", " ")
        return [(rule.specialist, f"{rule.specialist}, trained for {trained} noise, {_over(margin, noise_type)}")]
    return [(method, rule.reason + _left_out([rule.specialist], noise_type)) for method in rule.steps]


def modality_candidates(modality: str | None, noise_type: str) -> list[str]:
    """The registered models trained on ``modality`` that may take ``noise_type``'s route, in the order
    tried: the one trained for that noise, then the modality's blind Gaussian one."""
    found = (learned.modality_model(modality, noise_type), learned.modality_model(modality))
    return list(dict.fromkeys(model for model in found if model))


def plan(noise_type: str, denoisers: list[str] | None = None, modality: str | None = None) -> list[tuple[str, str]]:
    """The (method, reason) chain to run: ``denoisers`` when the user chose them, else the rule table's,
    with the model trained on ``modality`` (a DICOM code such as CT, MR, CR) in the route's place where
    it earned it (``modality_candidates``, ``earned``)."""
    if denoisers is not None:
        return [(m, "chosen by the user") for m in denoisers]
    chain = route(noise_type)
    candidates = modality_candidates(modality, noise_type)
    for model in candidates:
        margin = earned(model, noise_type)
        if margin:
            trained = "" if weights.CATALOG[model].noise == "gaussian" else f" for {noise_type} noise"
            return [(model, f"{modality} image (its modality tag): {model}, fine-tuned on {modality} slices"
                            f"{trained}, {_over(margin, noise_type)}")]
    return [(method, why + _left_out(candidates, noise_type)) for method, why in chain]


def _over(margin: Margin, noise_type: str) -> str:
    return f"{margin.db:+.2f} dB over {' + '.join(ROUTES[noise_type].steps)} {margin.measured}"


def _left_out(models: list[str], noise_type: str) -> str:
    """'; X stays out: ...' for each registered model whose measured margin on ``noise_type`` is not positive."""
    present = learned.registered()
    margins = [(model, MARGINS.get((model, noise_type))) for model in models if model in present]
    return "".join(f"; {model} stays out: {_over(margin, noise_type)}" for model, margin in margins
                   if margin is not None and margin.db <= 0)


def start_level(image: np.ndarray, classification: dict, noise_type: str, method: str = "") -> dict:
    """The noise level the first denoiser ``method`` starts from: the classifier's, with ``sigma``,
    ``sigma_white``, ``gain`` and ``floor`` from ``estimate.real_noise_level`` (the same on white noise).

    For speckle the noise grows with brightness, so the estimate from the flattest areas falls short:
    ``sigma`` becomes the image's RMS noise, ``sqrt(var · E[x²])`` with ``E[x²] = E[y²] / (1 + var)``,
    except for a learned model: one with a ``sigma`` was trained with the plain estimate, and the
    speckle model takes the classifier's ``var`` itself.
    """
    real = real_noise_level(image)  # correlated and brightness-dependent noise seen too
    level = {**classification["level"], **{key: real[key] for key in ("sigma", "sigma_white", "gain", "floor")}}
    if noise_type == "speckle" and "var" in level and method not in learned.registered():
        var = float(level["var"])
        level["sigma"] = float(np.sqrt(var * np.mean(np.square(image, dtype=np.float64)) / (1 + var)))
    return level


def run(image: np.ndarray, *, noise_type: str | None = None, denoisers: list[str] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None, sharpen: Mapping[str, Any] | None = None,
        sr: str | None = None, sr_method: str = "realesrgan", modality: str | None = None,
        on_stage: Callable[[str, int, int], None] | None = None) -> Result:
    """Classify, denoise, optionally sharpen and super-resolve ``image``.

    Parameters
    ----------
    image : float32 array in [0, 1], (H, W) or (H, W, 3)
    noise_type : str, optional
        Override the classifier's answer (a key of ``ROUTES``).
    denoisers : list of str, optional
        Override the rule table: these denoisers run in order (``[]`` skips denoising).
    params : dict, optional
        ``{method: {param: value}}`` overriding the ``auto`` parameters of any stage.
    sharpen : dict, optional
        Run ``unsharp_mask`` with these parameters (``{}`` for its defaults); ``None`` skips it.
    sr : {"x2", "x3", "x4"}, optional
        Super-resolve the result by this factor with ``sr_method`` (see ``superres``).
    modality : str, optional
        The image's modality (DICOM code, e.g. ``meta.modality``): its own model takes the routes it
        earned (``plan``).
    on_stage : callable, optional
        Called as ``on_stage(name, index, total)`` before each stage, for progress bars.

    Raises
    ------
    DenoiseError
        Bad image, unknown noise type, method or scale, missing weights.
    """
    image = check_array(image)
    params = {k: dict(v) for k, v in (params or {}).items()}
    if sr is not None and sr not in SR_SCALES:
        raise InvalidParameterError(f"--sr {sr}: expected one of {', '.join(SR_SCALES)}")
    classification, seconds = timed(lambda: predict(image))
    chosen = noise_type or classification["type"]
    chain = plan(chosen, denoisers, modality)
    total = 1 + len(chain) + (sharpen is not None) + (sr is not None)
    reason = f"classified as {classification['type']} ({100 * classification['probabilities'][classification['type']]:.0f}%)"
    if noise_type:
        reason += f"; treated as {noise_type} (user's choice)"
    stages = [Stage("input", "classify", {}, reason, seconds, image)]
    current = image
    for method, why in chain:
        _announce(on_stage, f"Denoising with {method}", len(stages), total)
        level = start_level(image, classification, chosen, method) if current is image else real_noise_level(current)
        values = resolve(registry.get(method, "denoiser"), current, params.get(method), level=level)
        current, seconds = timed(lambda: denoise(current, method, values, auto=False))
        stages.append(Stage("denoise", method, values, why, seconds, current))
    if sharpen is not None:
        _announce(on_stage, "Sharpening", len(stages), total)
        values = registry.get("unsharp_mask", "enhance").resolve({**sharpen, **params.get("unsharp_mask", {})})
        current, seconds = timed(lambda: enhance(current, "unsharp_mask", values))
        stages.append(Stage("sharpen", "unsharp_mask", values, "restore edges softened by denoising", seconds, current))
    if sr is not None:
        from .methods import superres
        _announce(on_stage, f"Super-resolving {sr} with {sr_method}", len(stages), total)
        values = dict(params.get(sr_method, {}))
        current, seconds = timed(lambda: superres.upscale(current, sr_method, SR_SCALES[sr], values))
        stages.append(Stage("superres", sr_method, {"scale": SR_SCALES[sr], **values},
                            f"upscale {sr} as asked", seconds, current))
    return Result(classification, stages, modality)


def _announce(on_stage, name: str, index: int, total: int) -> None:
    if on_stage is not None:
        on_stage(name, index, total)
