"""Mismatch experiments: a model meets noise it was not trained for, each a sweep or a few, one click each.

``fixed_sigma``: a model trained at σ 25 alone over σ 5–75 beside a blind model and BM3D; ``gaussian_on_other``:
a Gaussian-trained model on Poisson, speckle and salt-and-pepper noise beside the specialist of each;
``wrong_sigma``: a σ-taking model told 0.5× to 2× the true σ (``sweep.method_entry``). The methods are asked of
the registry when an experiment is built, so a published model fetched meanwhile takes its place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .. import registry
from ..errors import InvalidParameterError
from .sweep import method_entry, sweep_config

FIXED = ("kair_dncnn_25", "kair_dncnn_gray_blind")
"""The published DnCNN-S σ25 and its blind sibling (``weights fetch kair_dncnn_25``), used when registered."""
OWN_FIXED = ("dncnn_s25", "dncnn_gray_blind")
"""Ours: ``dncnn_gray_blind`` fine-tuned at σ 25 alone (a short CPU run, see its model card), and the blind model."""
SPECIALISTS = {"poisson": ("ffdnet_poisson", (5, 10, 20, 40, 80)), "speckle": ("ffdnet_speckle", (0.02, 0.05, 0.1, 0.15)),
               "salt_pepper": ("ffdnet_salt_pepper", (0.05, 0.1, 0.2, 0.3))}
"""Per noise model: its specialist and the levels swept (in the app's units)."""
GAUSSIAN_MODEL = "ffdnet_gray_blind"
FACTORS = {GAUSSIAN_MODEL: (0.5, 0.75, 1.0, 1.5, 2.0), "bm3d": (0.5, 1.0, 2.0)}
"""The σ each model is told in ``wrong_sigma``, as multiples of the true σ."""


@dataclass(frozen=True)
class Part:
    """One sweep of an experiment: a noise model, its levels (app units) and the method entries."""

    title: str
    noise: str
    levels: tuple[float, ...]
    methods: tuple[Any, ...]


@dataclass(frozen=True)
class Experiment:
    """A one-click experiment: its title, the note that says what it shows, and its sweeps."""

    key: str
    title: str
    note: str
    parts: tuple[Part, ...]


def fixed_pair() -> tuple[str, str]:
    """(fixed-σ25 model, blind model): the published pair when fetched, else ours."""
    return FIXED if all(name in registry.names("denoiser") for name in FIXED) else OWN_FIXED


def experiments() -> dict[str, Experiment]:
    """The three experiments by key, built from the methods registered now."""
    fixed, blind = fixed_pair()
    stand_in = "" if fixed in FIXED else (
        f" Here the σ-25 model is our own `{fixed}` (a short CPU fine-tune); `python -m denoise_core weights fetch "
        f"{FIXED[0]}` and `weights fetch {FIXED[1]}` put the published DnCNN-S σ25 and its blind sibling in its place.")
    told = tuple(method_entry(name, factor) for name, factors in FACTORS.items() for factor in factors)
    return {
        "fixed_sigma": Experiment(
            "fixed_sigma", "A fixed-σ model off its noise level",
            "A network trained at σ 25 alone has no way to know the level: it leads near σ 25 and loses ground "
            "away from it (noise left above, detail smoothed away below), while the blind model and BM3D follow "
            "the level. The crossovers mark the range where the specialist is worth having." + stand_in,
            (Part("Gaussian noise, σ 5–75", "gaussian", tuple(range(5, 76, 10)), (fixed, blind, "bm3d")),)),
        "gaussian_on_other": Experiment(
            "gaussian_on_other", "A Gaussian-trained model on other noise",
            f"`{GAUSSIAN_MODEL}` learnt white Gaussian noise; given Poisson, speckle or salt-and-pepper noise "
            "(its σ estimated from the image) it removes what looks Gaussian and leaves the rest: signal-dependent "
            "noise in the bright or dark parts, impulses as dark and white specks. The specialist trained for each "
            "noise shows what was left on the table — the reason a denoiser 'does nothing' on real photos.",
            tuple(Part(registry.get(noise, "noise").title, noise, levels, (GAUSSIAN_MODEL, specialist))
                  for noise, (specialist, levels) in SPECIALISTS.items())),
        "wrong_sigma": Experiment(
            "wrong_sigma", "A model told the wrong σ",
            f"`{GAUSSIAN_MODEL}` and BM3D take the noise level as an input; here they are told 0.5× to 2× the true "
            "σ. Told too little, they leave noise; told too much, they smooth detail away. The loss is not "
            "symmetric, which is why a noise estimate that errs should err high rather than low. (FFDNet's σ input "
            "stops at 75/255: at σ 50 it is told 75 for both 1.5× and 2×.)",
            (Part("Gaussian noise, σ told 0.5×–2×", "gaussian", (15.0, 25.0, 50.0), told),)),
    }


def experiment_configs(key: str, *, images: Sequence[Any], seeds: int = 1, max_size: int | None = 128,
                       limit: int | None = None, metrics: Sequence[str] = ("psnr", "ssim")) -> list[tuple[Part, dict]]:
    """Each part of experiment ``key`` with its checked sweep config, on ``images``.

    Raises
    ------
    InvalidParameterError
        An unknown key; ``UnknownMethodError`` when a model it needs is not registered.
    """
    found = experiments()
    if key not in found:
        raise InvalidParameterError(f"experiment {key!r}: expected one of {', '.join(found)}")
    return [(part, sweep_config(noise=part.noise, levels=part.levels, methods=part.methods, images=images,
                                seeds=seeds, max_size=max_size, limit=limit, metrics=metrics))
            for part in found[key].parts]
