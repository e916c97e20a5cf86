"""The input of the scripts' ``--smoke`` runs: small crops of the sample images, saved in a temporary folder.

A smoke run takes every step of its script on the least input, in seconds; the test suite runs each one.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from denoise_core.samples import load_sample

SIDE = 64


def crop(name: str, side: int = SIDE) -> np.ndarray:
    """The centre ``side``² of sample image ``name`` (float32 in [0, 1])."""
    image = load_sample(name)[0]
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return np.ascontiguousarray(image[top:top + side, left:left + side])


def folder(*names: str, into: Path | None = None, side: int = SIDE) -> Path:
    """``into`` (else a new temporary folder) holding the ``side``² crop of each named sample as an 8-bit PNG."""
    out = Path(into) if into else Path(tempfile.mkdtemp(prefix="smoke-"))
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.round(crop(name, side) * 255).astype(np.uint8)).save(out / f"{name}.png")
    return out
