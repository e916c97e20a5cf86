"""Display windows (centre, width) in source units and the uint8 image the screen shows."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from .meta import ImageMeta

CT_WINDOWS: dict[str, tuple[float, float]] = {
    "CT lung": (-600.0, 1500.0), "CT mediastinum": (50.0, 350.0), "CT bone": (400.0, 1800.0),
    "CT brain": (40.0, 80.0),
}
"""Standard CT display windows as (centre, width) in HU."""


def window_presets(meta: ImageMeta) -> dict[str, tuple[float, float]]:
    """Display windows (centre, width) in source units that suit ``meta``: the full range first,
    the file's own window when it has one, and the standard CT windows for CT in HU."""
    low, high = sorted(meta.value_range)
    presets = {"Full range": ((low + high) / 2, high - low)}
    if meta.window:
        presets["From the file"] = tuple(meta.window)
    if meta.modality == "CT" and meta.units == "HU":
        presets.update(CT_WINDOWS)
    return presets


def window_bounds(meta: ImageMeta, window: tuple[float, float]) -> tuple[float, float]:
    """The [0, 1] values at which a (centre, width) window in source units turns black and white."""
    centre, width = window
    if width <= 0:
        raise InvalidParameterError(f"window width must be positive, got {width}")
    low, high = meta.value_range
    to_unit = lambda value: (value - low) / (high - low)  # noqa: E731  (also right for a reversed range)
    ends = sorted((to_unit(centre - width / 2), to_unit(centre + width / 2)))
    return ends[0], ends[1]


def to_display(image: np.ndarray, bounds: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """An image for the screen: uint8, ``bounds`` (a window in [0, 1] units) stretched to black..white.

    Only the screen sees the window; metrics always use the data.
    """
    low, high = bounds
    scaled = (np.asarray(image, dtype=np.float32) - low) / max(high - low, 1e-12)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)
