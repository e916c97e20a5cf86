"""The source's units in a 16-bit TIFF: a JSON ImageDescription that a TIFF written here carries, so that
reading it back gives the same mapping (HU for CT, a NIfTI or .npy range)."""
from __future__ import annotations

import io
import json

import numpy as np

from ..errors import InvalidImageError
from .meta import ImageMeta, integer_source, plain_range, to_source_units
from .pixels import gray_or_rgb

TIFF_UNITS_KEY = "denoise_workbench"
"""Key of the JSON that a TIFF written with source units carries in its ImageDescription."""


def units_wanted(meta: ImageMeta | None) -> bool:
    """Whether a 16-bit TIFF should carry the source's units (its range is not a plain 0..1/255/65535)."""
    return meta is not None and not plain_range(meta.value_range)


def encode_tiff_units(image: np.ndarray, meta: ImageMeta) -> bytes:
    """A 16-bit TIFF of the source values plus a JSON ImageDescription that restores ``meta``'s mapping
    (see :func:`units_page`)."""
    import tifffile
    pixels, description = units_page(image, meta)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, photometric="rgb" if pixels.ndim == 3 else "minisblack",
                     description=description, metadata=None)
    return buffer.getvalue()


def units_page(image: np.ndarray, meta: ImageMeta) -> tuple[np.ndarray, str]:
    """The 16-bit pixels and JSON ImageDescription of a TIFF page holding ``image`` in ``meta``'s units.

    Whole-number sources within int16 (CT in HU) or uint16 are stored as their values; any other is
    stored as [0, 1] × 65535 (``"stored": "scaled"``), the JSON's ``value_range`` mapping it back.
    """
    lo, hi = (float(v) for v in meta.value_range)
    clipped = np.clip(image.astype(np.float64), 0.0, 1.0)
    stored, dtype = "scaled", np.uint16
    if integer_source(meta):
        low, high = min(lo, hi), max(lo, hi)
        if low >= -32768 and high <= 32767:
            stored, dtype = "source", np.int16
        elif low >= 0 and high <= 65535:
            stored, dtype = "source", np.uint16
    if stored == "source":
        pixels = np.clip(np.round(to_source_units(clipped, meta)), np.iinfo(dtype).min, np.iinfo(dtype).max)
    else:
        pixels = np.round(clipped * 65535.0)
    info = {TIFF_UNITS_KEY: 1, "stored": stored, "value_range": [lo, hi], "units": meta.units,
            "modality": meta.modality, "window": list(meta.window) if meta.window else None,
            "bit_depth": meta.bit_depth, "rescale": list(meta.rescale) if meta.rescale else None}
    return pixels.astype(dtype), json.dumps(info)


def units_info(data: bytes) -> dict | None:
    """The JSON a TIFF with source units carries (see :func:`encode_tiff_units`), None for any other TIFF."""
    import tifffile
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            description = tif.pages[0].description
        if TIFF_UNITS_KEY not in description:
            return None
        info = json.loads(description)
        lo, hi = (float(v) for v in info["value_range"])
        window = info.get("window")
        rescale = info.get("rescale")
        return {"stored": info["stored"] if info["stored"] in ("source", "scaled") else None,
                "value_range": (lo, hi) if hi != lo else (lo, lo + 1.0), "units": str(info.get("units") or ""),
                "modality": str(info["modality"]) if info.get("modality") else None,
                "window": (float(window[0]), float(window[1])) if window else None,
                "bit_depth": int(info.get("bit_depth") or 16),
                "rescale": (float(rescale[0]), float(rescale[1])) if rescale else None}
    except Exception:  # not ours, or damaged: read it as a plain TIFF
        return None


def image_with_units(array: np.ndarray, info: dict, label: str, meta_name: str):
    """The [0, 1] image and meta of a TIFF's decoded ``array``, mapped by its :func:`units_info`."""
    if array.ndim == 3 and array.shape[2] not in (1, 3):
        raise InvalidImageError(f"{label}: unsupported TIFF shape {array.shape} for an image with units")
    array, _ = gray_or_rgb(array, label)
    lo, hi = info["value_range"]
    if info["stored"] == "source":
        image = (array.astype(np.float64) - lo) / (hi - lo)
    else:
        image = array.astype(np.float64) / 65535.0
    return image.astype(np.float32), ImageMeta(meta_name, "TIFF", info["bit_depth"], (lo, hi), image.ndim == 3,
                                               info["modality"], window=info["window"], units=info["units"],
                                               rescale=info["rescale"])
