"""The learned denoisers: every weights entry registered like any method, without loading torch.

Every weights entry whose file is present when the library is imported (the shipped ones in
``weights/`` and the user's imported ones, see ``weights.imports``) is registered as a denoiser of
family ``learned``. A catalog entry whose file is absent is *not* registered (``python -m
denoise_core weights list`` shows it as missing); a present file that fails its sha256 check raises
``WeightsError`` naming the file when the denoiser runs.

A registered denoiser loads its network (``runner.load``, and with it torch) on its first call.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from .. import registry, weights
from ..errors import WeightsError
from ..registry import FloatParam, register

DEFAULT_GRAY = "drunet_gray_blind"
"""The default learned gray denoiser, the flagship (a small DRUNet-style residual U-Net, above BM3D on BSD68)."""
SIGMA_MAX = 75 / 255
VAR_MAX = 0.25
"""The largest speckle variance a multiplicative model is given."""


def _network(name: str):
    """The loaded network of entry ``name`` (``runner.load``): torch is imported on a learned denoiser's first call."""
    from .. import runner
    return runner.load(name)


def _forget_networks() -> None:
    """Drop the loaded networks after weights changed (nothing to drop when none was ever loaded)."""
    runner = sys.modules.get("denoise_core.runner")
    if runner is not None:
        runner.clear_cache()


GAIN_MAX = 0.2
"""The largest brightness gain of a noise-level map (Poisson noise at a peak of 5)."""


def _sigma_auto(level) -> dict:
    """The estimated σ, and the gain of the noise-level function where the noise grows with brightness."""
    from ..estimate import signal_dependent
    gain, floor = level.get("gain", 0.0), level.get("floor", 0.0)
    return {"sigma": float(min(max(level.get("sigma", 0.0), 0.0), SIGMA_MAX)),
            "gain": round(float(min(gain, GAIN_MAX)), 5) if signal_dependent(gain, floor) else 0.0}


def _white_auto(level) -> dict:
    """The white-noise σ (``sigma_white`` when estimated), one level: for a specialist, given its noise's level
    as the white estimate reads it (or as the per-pixel std) in training."""
    return {"sigma": float(min(max(level.get("sigma_white", level.get("sigma", 0.0)), 0.0), SIGMA_MAX)), "gain": 0.0}


def _var_auto(level) -> dict:
    """The classifier's speckle ``var`` when the level has one; else 0 (measured by the model)."""
    return {"var": float(min(max(level["var"], 0.0), VAR_MAX))} if "var" in level else {}


def measured_speckle_var(image: np.ndarray) -> float:
    """The speckle variance measured from ``image`` (``classifier.features.speckle_var``), 0 when it cannot be."""
    from ..classifier.features import speckle_var  # the classifier's measurements load on a speckle model's first use
    var = speckle_var(image)
    return float(min(var, VAR_MAX)) if np.isfinite(var) else 0.0


def _docstring(entry: weights.Entry) -> str:
    trained = f"trained for {entry.noise} noise"
    if entry.sigma_range:
        low, high = (f"{value * 255:.0f}" for value in entry.sigma_range)
        trained += f", σ {low}/255" if low == high else f", σ {low}–{high}/255"
    about = f"source: {entry.source}" + (f"; {entry.hash_note}" if entry.hash_note else "")
    return (f"{entry.title}: learned denoiser ({entry.arch}, {trained}).\n\n"
            f"Weights: {entry.file.name} ({about}); see its model card for data and measured PSNR.")


def make_denoiser(entry: weights.Entry):
    """The pure function registered for ``entry``: ``f(image, *, var)`` (multiplicative), ``f(image, *, sigma)``
    (noise map) or ``f(image)``."""
    if entry.multiplicative:
        def denoise(image: np.ndarray, *, var: float = 0.0) -> np.ndarray:
            return _network(entry.name)(image, np.sqrt(var or measured_speckle_var(image)))
    elif entry.noise_map:
        def denoise(image: np.ndarray, *, sigma: float = 25 / 255, gain: float = 0.0) -> np.ndarray:
            if gain > 0:
                from ..estimate import level_map
                return _network(entry.name)(image, level_map(image, sigma, gain))
            return _network(entry.name)(image, sigma)
    else:
        def denoise(image: np.ndarray) -> np.ndarray:
            return _network(entry.name)(image)
    denoise.__name__ = denoise.__qualname__ = entry.name
    denoise.__doc__ = _docstring(entry)
    return denoise


def register_entry(entry: weights.Entry, *, replace: bool = False) -> None:
    """Register ``entry`` as a denoiser (family ``learned``) named like the entry, tagged with its modality;
    ``replace`` lets re-imported weights take their name back."""
    tags = ("learned", entry.arch, entry.noise, "gray" if entry.channels == 1 else "color",
            *((entry.modality,) if entry.modality else ()), *entry.tags)
    if entry.multiplicative:
        params = [FloatParam("var", default=0.0, lo=0.0, hi=VAR_MAX, step=0.001,
                             help="Speckle variance (y = x·(1 + n)); 0 measures it from the image. The network's "
                                  "noise map is √var times the local brightness")]
        auto = _var_auto
    elif entry.noise_map:
        hi = SIGMA_MAX
        params = [FloatParam("sigma", default=25 / 255, lo=0.0, hi=hi, step=1 / 255,
                             help="Noise std in [0, 1] units given to the network's noise-level map (at the "
                                  "image's mean brightness when gain > 0)"),
                  FloatParam("gain", default=0.0, lo=0.0, hi=GAIN_MAX, step=0.0001,
                             help="Noise variance added per unit of brightness (1/peak for photon noise): the map "
                                  "follows the brightness, σ² = sigma² + gain·(local − mean); 0 = one level")]
        auto = _sigma_auto if entry.noise == "gaussian" else _white_auto
    else:
        params, auto = [], None
    register(entry.name, kind="denoiser", family="learned", title=entry.title, params=params, auto=auto,
             tags=tuple(dict.fromkeys(tags)), replace=replace)(make_denoiser(entry))


def import_weights(path, name: str, *, title: str = "", noise: str = "gaussian",
                   label: str | None = None) -> weights.Entry:
    """Import a user's weights file (see ``weights.import_weights``) and register it right away.

    Importing under the name of earlier imported weights replaces them; the name of any other denoiser
    (shipped, published or classical) is refused before anything is written.
    """
    if name in registry.names("denoiser") and name not in weights.imported():
        raise WeightsError(f"name {name!r} is already a denoiser here; choose another name")
    entry = weights.import_weights(path, name, title=title, noise=noise, label=label)
    _forget_networks()
    register_entry(entry, replace=True)
    return entry


def import_upload(data: bytes, filename: str, name: str) -> weights.Entry:
    """Import and register uploaded weights: ``data`` goes to a temporary file of our own naming, whose
    suffix ``weights.upload_suffix`` picks from the client's ``filename``; that name only labels messages."""
    suffix = weights.upload_suffix(filename)
    with tempfile.TemporaryDirectory(prefix="denoise-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return import_weights(path, name, label=weights.upload_label(filename))


def fetch_published(name: str, *, mirror=None, trust: bool = False, progress=None) -> weights.Entry:
    """Fetch published model ``name`` (``weights.fetch``: official address or ``mirror``, hash-checked) and
    register it as a denoiser in this process; later processes register it at import."""
    weights.fetch(name, mirror=mirror, trust=trust, progress=progress)
    _forget_networks()
    register_present()
    return weights.get_entry(name)


def register_present() -> list[str]:
    """Register every weights entry whose file is present and whose name is free; returns the new names.

    Run at import, and again after weights arrive (a fetch, an import in another process)."""
    done = []
    try:
        known = weights.entries()
    except WeightsError:  # an unreadable imported catalog must not break the library import
        known = dict(weights.CATALOG)
    taken = set(registry.names("denoiser"))
    for entry in known.values():
        if entry.file.is_file() and entry.name not in taken:  # a hand-edited catalog may reuse a method's name
            register_entry(entry)
            done.append(entry.name)
    return done


def registered() -> list[str]:
    """Names of the learned denoisers registered now (shipped, imported and fetched ones)."""
    return registry.names("denoiser", family="learned")


register_present()

MODALITIES = {"CT": "CT", "MR": "MRI", "MRI": "MRI", "X-RAY": "X-ray", "CR": "X-ray", "DX": "X-ray", "DR": "X-ray",
              "RG": "X-ray", "RF": "X-ray", "XA": "X-ray", "MG": "X-ray", "PX": "X-ray", "IO": "X-ray"}
"""DICOM modality codes (and the samples' names) -> the modality the shipped models are trained for."""


def modality_model(modality: str | None, noise: str = "gaussian") -> str | None:
    """The registered learned denoiser trained on ``modality`` images (a DICOM code such as CT, MR, CR,
    DX, or CT / MRI / X-ray) for ``noise``, or None when there is none."""
    wanted = MODALITIES.get(str(modality or "").strip().upper())
    return next((name for name, entry in weights.CATALOG.items()
                 if wanted and entry.modality == wanted and entry.noise == noise and name in registered()), None)
