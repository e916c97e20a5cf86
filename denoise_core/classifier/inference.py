"""Naming the noise of an image with the shipped classifier (torch loads on the first call)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from ..errors import InvalidImageError, WeightsError
from ..estimate import noise_level
from ..image import check_array
from ..paths import WEIGHTS_DIR
from ..weights import verify
from .features import FEATURES, features, jpeg_quality, poisson_peak, speckle_var

CLASSES = ("clean", "gaussian", "salt_pepper", "speckle", "poisson", "jpeg", "scribbles", "mixed")
MIN_SIDE = 32
"""Smallest height and width ``predict`` accepts."""

WEIGHTS_FILE = WEIGHTS_DIR / "noise_classifier.safetensors"
WEIGHTS_SHA256 = "dd8a4656372aa653d0dd819d4f7b6087fc0b6459ed165a4e5f09dd3709bc7d90"
"""sha256 of the shipped ``weights/noise_classifier.safetensors`` (see its model card)."""
_FIX = ("restore weights/noise_classifier.safetensors from the repository, or retrain it: "
        "python -m denoise_core train-classifier --out weights/noise_classifier")


@lru_cache(maxsize=2)
def load_classifier(path: Path = WEIGHTS_FILE, expected_sha256: str = WEIGHTS_SHA256):
    """The classifier stored at ``path`` after checking its sha256, in eval mode.

    Raises
    ------
    WeightsError
        The file is missing, corrupted, or was trained on other features or classes.
    """
    from ..models import NoiseClassifier

    verify(path, expected_sha256, _FIX)
    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
            state = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"{path}: not a readable safetensors file ({error}); {_FIX}") from None
    if metadata.get("features") != ",".join(FEATURES) or metadata.get("classes") != ",".join(CLASSES):
        raise WeightsError(f"{path}: trained on other features or classes than this version computes; {_FIX}")
    model = NoiseClassifier(len(FEATURES), len(CLASSES), int(metadata.get("hidden", 64)))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{path}: does not fit the classifier ({str(error).splitlines()[0]}); {_FIX}") from None
    return model.eval()


_TYPE_LEVELS = {
    "speckle": ("var", speckle_var),
    "poisson": ("peak", poisson_peak),
    "jpeg": ("quality", jpeg_quality),
}


def predict(image: np.ndarray) -> dict:
    """Name the noise of ``image``, with the probability of every class and the noise strength.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) image in [0, 1], at least ``MIN_SIDE`` pixels high and wide.

    Returns
    -------
    dict
        ``{"type": class, "probabilities": {class: p, ...}, "level": {...}}``: ``level`` is
        ``estimate.noise_level`` (``sigma``, ``impulse``), plus, where it can be measured, the
        speckle ``var`` or the Poisson ``peak`` (the median over intensity bins of ``std²/x²`` or
        ``x/std²``, away from clipping) or the JPEG ``quality`` (from the quantisation steps), named
        as the registered noise models name them.

    Raises
    ------
    InvalidImageError
        Not an image, or smaller than ``MIN_SIDE`` pixels a side.
    WeightsError
        The classifier's weights file is missing or corrupted.
    """
    image = check_array(image)
    if min(image.shape[:2]) < MIN_SIDE:
        raise InvalidImageError(f"image: {image.shape[1]}x{image.shape[0]} pixels is too small to classify "
                                f"its noise (at least {MIN_SIDE}x{MIN_SIDE})")
    import torch

    model = load_classifier()
    with torch.inference_mode():
        logits = model(torch.from_numpy(features(image))[None])[0].double()
    probabilities = torch.softmax(logits, dim=0).numpy()
    kind = CLASSES[int(probabilities.argmax())]
    level = noise_level(image)
    measure = _TYPE_LEVELS.get(kind)
    if measure is not None and np.isfinite(value := measure[1](image)):
        level[measure[0]] = value
    return {"type": kind, "probabilities": dict(zip(CLASSES, probabilities.tolist())), "level": level}
