"""The automatic pipeline: classify the noise → denoise by a rule table → sharpen → super-resolve.

For an image with no clean reference and an unknown noise type. Every stage keeps its output, its
parameters, its time and a one-line reason, and the caller may override any choice. The record
(``Result.record``) is plain JSON, so a run can be stored and repeated.

The rule table (``ROUTES``) maps each noise type to a chain of denoisers, or to the learned specialist
for that noise where one beat every classical method (``benchmarks/specialists.py``); for a CT, X-ray or MRI
image (the DICOM modality tag) the model trained on that modality takes the route's place for the noise
types it learned (``MODALITY_TYPES``). ``benchmarks/pipeline_vs_hindsight.py`` measures the table
against the best single method per image, ``benchmarks/medical_models.py`` the modality models.
Parameters come from each method's ``auto`` rule for the noise level estimated before that step
(the classifier's level for the first).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from . import learned, registry, weights
from .apply import denoise, enhance, resolve
from .errors import InvalidParameterError
from .estimate import classify, noise_level
from .image import check_array


@dataclass(frozen=True)
class Route:
    """The denoising chain for one noise type (registered denoisers, run in order), and why."""

    steps: tuple[str, ...]
    reason: str
    specialist: str = ""
    """A learned model trained for this noise type that replaces ``steps`` when its weights are present
    (set where ``benchmarks/specialists.py`` measured it above every classical method on Set12)."""


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
MODALITY_TYPES = ("gaussian", "poisson")
"""Noise types for which a modality's own blind Gaussian model replaces the route (when it has none trained
for the noise type itself)."""
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


def route(noise_type: str) -> list[tuple[str, str]]:
    """The (method, reason) chain the rule table gives ``noise_type``."""
    if noise_type not in ROUTES:
        raise InvalidParameterError(f"unknown noise type '{noise_type}' (known: {', '.join(ROUTES)})")
    rule = ROUTES[noise_type]
    if rule.specialist in learned.registered():
        trained = weights.CATALOG[rule.specialist].noise.replace("_", " ")
        return [(rule.specialist, f"{rule.specialist}, trained for {trained} noise, beats every classical "
                                  f"method on {noise_type.replace('_', ' ')} noise (see its model card)")]
    return [(method, rule.reason) for method in rule.steps]


def plan(noise_type: str, denoisers: list[str] | None = None, modality: str | None = None) -> list[tuple[str, str]]:
    """The (method, reason) chain to run: ``denoisers`` when the user chose them, else the rule table's,
    with the model trained on ``modality`` (a DICOM code such as CT, MR, CR) in the route's place: the one
    trained for ``noise_type``, else its blind Gaussian one for ``MODALITY_TYPES``."""
    if denoisers is not None:
        return [(m, "chosen by the user") for m in denoisers]
    chain = route(noise_type)
    model = learned.modality_model(modality, noise_type) or \
        (learned.modality_model(modality) if noise_type in MODALITY_TYPES else None)
    if model is None:
        return chain
    trained = "" if weights.CATALOG[model].noise == "gaussian" else f" for {noise_type} noise"
    replaced = " + ".join(method for method, _ in chain)
    return [(model, f"{modality} image (its modality tag): {model}, fine-tuned on {modality} slices{trained}, "
                    f"replaces {replaced}")]


def start_level(image: np.ndarray, classification: dict, noise_type: str, method: str = "") -> dict:
    """The noise level the first denoiser ``method`` starts from: the classifier's.

    For speckle the noise grows with brightness, so the estimate from the flattest areas falls short:
    ``sigma`` becomes the image's RMS noise, ``sqrt(var · E[x²])`` with ``E[x²] = E[y²] / (1 + var)``,
    except for a learned model: one with a ``sigma`` was trained with the plain estimate, and the
    speckle model takes the classifier's ``var`` itself.
    """
    level = dict(classification["level"])
    if noise_type == "speckle" and "var" in level and method not in learned.registered():
        var = float(level["var"])
        level["sigma"] = float(np.sqrt(var * np.mean(np.square(image, dtype=np.float64)) / (1 + var)))
    return level


def _timed(func: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


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
        The image's modality (DICOM code, e.g. ``meta.modality``): its own model is preferred (``plan``).
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
    classification, seconds = _timed(lambda: classify(image))
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
        level = start_level(image, classification, chosen, method) if current is image else noise_level(current)
        values = resolve(registry.get(method, "denoiser"), current, params.get(method), level=level)
        current, seconds = _timed(lambda: denoise(current, method, values, auto=False))
        stages.append(Stage("denoise", method, values, why, seconds, current))
    if sharpen is not None:
        _announce(on_stage, "Sharpening", len(stages), total)
        values = registry.get("unsharp_mask", "enhance").resolve({**sharpen, **params.get("unsharp_mask", {})})
        current, seconds = _timed(lambda: enhance(current, "unsharp_mask", values))
        stages.append(Stage("sharpen", "unsharp_mask", values, "restore edges softened by denoising", seconds, current))
    if sr is not None:
        from . import superres
        _announce(on_stage, f"Super-resolving {sr} with {sr_method}", len(stages), total)
        values = dict(params.get(sr_method, {}))
        current, seconds = _timed(lambda: superres.upscale(current, sr_method, SR_SCALES[sr], values))
        stages.append(Stage("superres", sr_method, {"scale": SR_SCALES[sr], **values},
                            f"upscale {sr} as asked", seconds, current))
    return Result(classification, stages, modality)


def _announce(on_stage, name: str, index: int, total: int) -> None:
    if on_stage is not None:
        on_stage(name, index, total)
