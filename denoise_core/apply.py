"""The image-to-image entry points: add noise, denoise, enhance. One place validates the input,
resolves parameters through the registry and enforces the output contract (same shape, float32)."""
from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np

from . import registry
from .errors import InvalidParameterError, one_line
from .image import check_array
from .registry import NoiseLevel

MAX_SEED = 2**32 - 1
"""The largest seed accepted: seeds are whole numbers from 0 to ``MAX_SEED``."""


def check_seed(seed: Any) -> int:
    """``seed`` (an int or its digits) as an int; ``InvalidParameterError`` unless it is a whole number
    from 0 to ``MAX_SEED``."""
    text = str(seed).strip()
    if isinstance(seed, bool) or not re.fullmatch(r"[0-9]{1,20}", text) or int(text) > MAX_SEED:
        raise InvalidParameterError(f"seed {one_line(text, 40)!r}: use a whole number from 0 to {MAX_SEED}")
    return int(text)


def add_noise(image: np.ndarray, model: str, params: Mapping[str, Any] | None = None, *,
              seed: int = 0) -> np.ndarray:
    """Apply the registered noise ``model`` with a generator seeded by ``seed`` (reproducible).

    Raises ``InvalidParameterError`` for a seed outside 0..``MAX_SEED`` (see :func:`check_seed`).
    """
    image = check_array(image)
    method = registry.get(model, "noise")
    rng = np.random.default_rng(check_seed(seed))
    out = method.func(image, rng=rng, **method.resolve(params))
    return _output(out, image, method)


def denoise(image: np.ndarray, method: str, params: Mapping[str, Any] | None = None, *,
            level: NoiseLevel | None = None, auto: bool = True) -> np.ndarray:
    """Denoise with a registered method; the result is float32 in [0, 1], shaped like ``image``.

    With ``auto`` the parameters not in ``params`` come from the method's rule for the noise
    ``level`` (``{"sigma": ..., "impulse": ...}``), estimated from the image when not given
    (``estimate.real_noise_level``: correlated and signal-dependent noise seen too).
    The input may stray outside [0, 1] (unclipped Gaussian noise, as in the evaluation protocol).
    """
    image = check_array(image)
    entry = registry.get(method, "denoiser")
    values = resolve(entry, image, params, level=level, auto=auto)
    return np.clip(_output(entry.func(image, **values), image, entry), 0.0, 1.0)


def enhance(image: np.ndarray, method: str, params: Mapping[str, Any] | None = None) -> np.ndarray:
    """Post-process with a registered ``enhance`` method (e.g. ``unsharp_mask``); same shape, float32."""
    image = check_array(image)
    entry = registry.get(method, "enhance")
    return _output(entry.func(image, **entry.resolve(params)), image, entry)


def resolve(method: registry.Method, image: np.ndarray, params: Mapping[str, Any] | None = None, *,
            level: NoiseLevel | None = None, auto: bool = True) -> dict:
    """The parameters ``denoise`` would use: what ``auto`` derives, overridden by ``params``."""
    if auto and method.auto is not None and level is None:
        from .estimate import real_noise_level
        level = real_noise_level(image)
    return method.resolve(params, level if auto else None)


def _output(out: np.ndarray, image: np.ndarray, method: registry.Method) -> np.ndarray:
    if out.shape != image.shape:
        raise AssertionError(f"{method.kind} '{method.name}' changed the shape {image.shape} -> {out.shape}")
    return np.asarray(out, dtype=np.float32)
