"""Decoded samples to float32 [0, 1] (gray or RGB, alpha dropped) and back to 8 or 16 bits."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidImageError


def gray_or_rgb(array: np.ndarray, label: str) -> tuple[np.ndarray, bool]:
    """(H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4) -> (H, W) or (H, W, 3); had_alpha."""
    if array.ndim == 3 and array.shape[2] == 1:
        return array[..., 0], False
    if array.ndim == 3 and array.shape[2] == 2:
        return array[..., 0], True
    if array.ndim == 3 and array.shape[2] == 4:
        return array[..., :3], True
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3):
        return array, False
    raise InvalidImageError(f"{label}: unsupported image shape {array.shape}")


def to_unit_range(array: np.ndarray, label: str) -> tuple[np.ndarray, int, tuple[float, float]]:
    """Integer or float pixels -> float32 [0, 1], bit depth, value range."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0, 8, (0.0, 255.0)
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0, 16, (0.0, 65535.0)
    if array.dtype == np.bool_:
        return array.astype(np.float32), 8, (0.0, 1.0)
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise InvalidImageError(f"{label}: contains NaN or infinite values")
    bits = 32 if array.dtype.kind == "f" else array.dtype.itemsize * 8
    lo, hi = float(values.min()), float(values.max())
    if array.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        return values.astype(np.float32), 32, (0.0, 1.0)
    if array.dtype.kind in "iu" and lo >= 0 and hi <= 65535:  # e.g. PIL mode "I" holding 16-bit data
        return (values / 65535.0).astype(np.float32), 16, (0.0, 65535.0)
    span = hi - lo if hi > lo else 1.0
    return ((values - lo) / span).astype(np.float32), bits, (lo, lo + span)


def quantise(image: np.ndarray, bit_depth: int) -> np.ndarray:
    """[0, 1] values (clipped) -> uint8 or, for ``bit_depth`` 16, uint16."""
    top = 65535.0 if bit_depth == 16 else 255.0
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    return np.round(np.clip(image.astype(np.float64), 0.0, 1.0) * top).astype(dtype)
