"""What a bundle's rows mean and how one row is remade: the schema version, the tolerance, the rows without a clean
reference, and the recomputation of a case (its noisy image, its output, its scores)."""
from __future__ import annotations

import json
import math
from importlib import metadata
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..apply import add_noise, denoise
from ..metrics import measure
from ..paths import PROJECT

SCHEMA = 1
"""The manifest's schema version: a bundle of another version is refused with one line."""
KINDS = ("compare", "benchmark", "sweep", "vote")
RTOL, ATOL = 1e-4, 1e-6
"""A recomputed number matches when ``|recomputed - recorded| <= ATOL + RTOL * |recorded|`` (0.003 dB at 30 dB)."""
NO_NOISE = "none"
"""The ``noise`` of a row whose input is already noisy (no clean reference): the input is used as it is."""
ESTIMATED_SIGMA = "estimated_sigma"
"""The one number of a row without a clean reference: the noise σ a blind estimator still finds in the output."""
NOISY = "noisy"
"""The method label of the noisy input itself (no denoiser: ``name`` None in the manifest)."""


def workbench_version() -> str:
    """The workbench's version: the installed package's, else the checkout's ``pyproject.toml``."""
    try:
        return metadata.version("denoise-workbench")
    except metadata.PackageNotFoundError:
        import tomllib
        try:
            return tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def cases(rows: pd.DataFrame) -> Iterable[tuple[dict, pd.DataFrame]]:
    """Each measured case (its rows differ only in the metric), inputs in order so that a noisy image is reused."""
    keys = ["group", "image", "noise", "noise_params", "seed", "level", "method", "params"]
    for values, part in rows.groupby(keys, sort=False, dropna=False):
        yield dict(zip(keys, values)), part


def noisy(clean: np.ndarray, case: Mapping[str, Any], cache: dict) -> np.ndarray:
    """The case's noisy image: ``clean`` with its noise and seed (as it is for ``NO_NOISE``); ``cache`` keeps the last."""
    key = (case["group"], case["image"], case["noise"], case["noise_params"], int(case["seed"]))
    if key not in cache:
        cache.clear()  # one noisy image kept at a time: memory stays bounded
        cache[key] = (clean if case["noise"] == NO_NOISE
                      else add_noise(clean, case["noise"], json.loads(case["noise_params"]), seed=int(case["seed"])))
    return cache[key]


def restore(clean: np.ndarray, case: Mapping[str, Any], methods: Mapping[str, str | None], cache: dict) -> np.ndarray:
    """The case's output: its method (``methods``: label -> denoiser, None for the noisy input) with its parameters."""
    noisy_image = noisy(clean, case, cache)
    name = methods[case["method"]]
    return noisy_image if name is None else denoise(noisy_image, name, json.loads(case["params"]), auto=False)


def scores(clean: np.ndarray, restored: np.ndarray, noise: str, metrics: list[str]) -> dict[str, float]:
    """The named metrics of ``restored`` against ``clean``; without a clean reference, ``ESTIMATED_SIGMA`` alone."""
    if noise == NO_NOISE:
        from ..estimate import noise_level
        return {ESTIMATED_SIGMA: float(noise_level(restored)["sigma"])} if ESTIMATED_SIGMA in metrics else {}
    return {name: float(value) for name, value in measure(clean, restored, metrics).items()}


def close(recorded: float, recomputed: float) -> bool:
    """Whether a recomputed number matches the recorded one within ``RTOL`` and ``ATOL`` (NaN matches NaN)."""
    if math.isnan(recorded) or math.isnan(recomputed):
        return math.isnan(recorded) and math.isnan(recomputed)
    if math.isinf(recorded) or math.isinf(recomputed):
        return recorded == recomputed
    return abs(recomputed - recorded) <= ATOL + RTOL * abs(recorded)
