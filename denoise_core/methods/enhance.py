"""Post-processing after denoising: sharpening, registered with ``kind="enhance"``."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..registry import FloatParam, register


@register("unsharp_mask", kind="enhance", family="classical", title="Unsharp mask", params=[
    FloatParam("amount", default=0.6, lo=0.0, hi=3.0, step=0.05, help="How much of the detail layer to add back"),
    FloatParam("radius", default=1.0, lo=0.3, hi=5.0, step=0.1, help="Blur standard deviation in pixels"),
    FloatParam("threshold", default=0.01, lo=0.0, hi=0.2, step=0.005,
               help="Details smaller than this (in [0, 1] units) are left alone, so leftover noise is not sharpened"),
])
def unsharp_mask(image: np.ndarray, *, amount: float = 0.6, radius: float = 1.0,
                 threshold: float = 0.01) -> np.ndarray:
    """Sharpen by adding back ``amount`` × (image − Gaussian blur), where the detail exceeds ``threshold``.

    Parameters
    ----------
    amount : float in [0, 3]
        Gain of the detail layer (0 leaves the image unchanged).
    radius : float in [0.3, 5]
        Standard deviation of the Gaussian blur in pixels (not a noise level).
    threshold : float in [0, 0.2]
        Details with an absolute value at or below it are not amplified (a soft knee above it).

    Returns
    -------
    The sharpened image, clipped to [0, 1].
    """
    image = image.astype(np.float32)
    sigma = (radius, radius, 0) if image.ndim == 3 else radius
    detail = image - ndimage.gaussian_filter(image, sigma=sigma, mode="reflect")
    detail = np.sign(detail) * np.maximum(np.abs(detail) - threshold, 0.0)
    return np.clip(image + amount * detail, 0.0, 1.0)
