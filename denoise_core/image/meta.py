"""The array contract and the source's units: check_array, ImageMeta, to_source_units."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidImageError


def check_array(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an in-memory image and return it as a writable float32 array (no copy when it already is one;
    a read-only image, such as one the app shares between sessions, is copied, so that no method can change it).

    Accepts (H, W) or (H, W, 3), at least 2x2, finite. Values may stray outside [0, 1]
    (unclipped noise); the readers of this package always return [0, 1].
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
    array = array.astype(np.float32, copy=not array.flags.writeable)
    if not np.isfinite(array).all():
        raise InvalidImageError(f"{name}: contains NaN or infinite values")
    return array


@dataclass(frozen=True)
class ImageMeta:
    """Where an image came from and how its [0, 1] values map back to the file's units.

    ``value_range`` holds the source values that map to 0 and 1 (``(0, 255)`` for 8-bit,
    ``(0, 65535)`` for 16-bit, a HU range for CT; reversed for an inverted MONOCHROME1 DICOM). For a
    volume it is the range of the whole volume, so every slice maps the same source value to the same
    [0, 1] value. ``slices`` is the number of slices in the file (1 for a plain image) and
    ``slice_index`` the 0-based slice that was read. ``dicom_header`` is the source DICOM dataset
    without its pixel data, serialised (explicit VR little endian, no file meta), so that
    :func:`save_image` can write a DICOM that keeps the source's header; ``nifti_header`` is a NIfTI
    source's header block (without extensions), so that a whole volume can be written back with it. Both
    stay out of ``describe()``, ``notes`` and ``repr``.
    """

    name: str
    format: str
    bit_depth: int
    value_range: tuple[float, float]
    color: bool
    modality: str | None
    had_alpha: bool = False
    window: tuple[float, float] | None = None
    units: str = ""
    note: str = ""
    rescale: tuple[float, float] | None = None  # (slope, intercept) applied on reading: DICOM, NIfTI scl_*
    slices: int = 1
    slice_index: int = 0
    dicom_header: bytes | None = field(default=None, repr=False)
    nifti_header: bytes | None = field(default=None, repr=False)

    def describe(self, shape: tuple[int, ...] | None = None) -> str:
        """One short line, e.g. ``"PNG · 16-bit · gray · 512×512"`` (size only when ``shape`` is given);
        a volume adds its slice, 1-based: ``"slice 13 of 24"``."""
        parts = [self.format, f"{self.bit_depth}-bit" + (" float" if self.bit_depth == 32 else ""),
                 "colour" if self.color else "gray"]
        if shape is not None:
            parts.append(f"{shape[1]}×{shape[0]}")
        if self.modality:
            parts.append(self.modality)
        if self.slices > 1:
            parts.append(f"slice {self.slice_index + 1} of {self.slices}")
        if self.had_alpha:
            parts.append("alpha dropped")
        if self.note:
            parts.append(self.note)
        return " · ".join(parts)

    @property
    def notes(self) -> tuple[str, ...]:
        """Things worth telling the user about how the image was read (may be empty)."""
        items = []
        if self.note:
            items.append(self.note)
        if self.had_alpha:
            items.append("the alpha channel was dropped")
        lo, hi = self.value_range
        if self.units or self.modality or self.format == "NPY" or not plain_range(self.value_range):
            items.append(f"0..1 maps to {lo:g}..{hi:g}{' ' + self.units if self.units else ''}")
        if self.window is not None:
            items.append(f"window centre {self.window[0]:g}, width {self.window[1]:g}")
        return tuple(items)


def plain_range(value_range: tuple[float, float]) -> bool:
    """True for the ranges a plain image file implies: 0..1, 0..255, 0..65535."""
    return tuple(map(float, value_range)) in ((0.0, 1.0), (0.0, 255.0), (0.0, 65535.0))


def to_source_units(image: np.ndarray, meta: ImageMeta) -> np.ndarray:
    """Map [0, 1] values back to the file's units (e.g. HU for CT, 0..65535 for 16-bit) as float64."""
    lo, hi = meta.value_range
    return lo + np.asarray(image, dtype=np.float64) * (hi - lo)


def integer_source(meta: ImageMeta) -> bool:
    """Whether the source's values are whole numbers (CT in HU, 8/16-bit data), judged from ``meta``."""
    if meta.bit_depth not in (8, 16):
        return False
    if meta.rescale is not None and not all(float(v).is_integer() for v in meta.rescale):
        return False
    return all(float(v).is_integer() for v in meta.value_range)
