"""Images in and out. Inside the library an image is a float32 array in [0, 1], (H, W) or (H, W, 3)."""
from __future__ import annotations

import numpy as np

from .errors import InvalidImageError


def check_array(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an in-memory image and return it as float32 (no copy when it already is).

    Accepts (H, W) or (H, W, 3), at least 2x2, finite. Values may stray outside [0, 1]
    (unclipped noise); the readers in this module always return [0, 1].
    """
    array = np.asarray(image)
    if array.dtype.kind not in "fiub":
        raise InvalidImageError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise InvalidImageError(f"{name}: expected shape (H, W) or (H, W, 3), got {array.shape}")
    if min(array.shape[:2]) < 2:
        raise InvalidImageError(f"{name}: image is too small ({array.shape[1]}x{array.shape[0]} pixels)")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise InvalidImageError(f"{name}: contains NaN or infinite values")
    return array
