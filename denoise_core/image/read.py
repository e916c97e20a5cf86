"""read_image: which file is which format (suffix, then signature), one reader per format, one set of checks."""
from __future__ import annotations

import operator
import os
from pathlib import Path

import numpy as np

from ..errors import DenoiseError, InvalidImageError, InvalidParameterError, one_line
from .dicom import read_dicom
from .limits import MAX_FILE_BYTES, MAX_PIXELS, MIN_SIDE, error_line, megabytes
from .meta import ImageMeta, check_array
from .nifti import file_head, nifti_version, read_nifti
from .npy import read_npy
from .raster import read_raster

DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
"""A file with one of these suffixes goes to its reader whatever its first bytes say."""
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".npy", *DICOM_SUFFIXES,
                  *NIFTI_SUFFIXES)
"""Every suffix ``read_image`` reads: the files that count as images in a folder or a benchmark's archive."""


def is_image_name(name: str) -> bool:
    """Whether a file named ``name`` counts as an image (``IMAGE_SUFFIXES``, any case; ``scan.nii.gz`` too)."""
    return name.lower().endswith(IMAGE_SUFFIXES)


def read_image(source: str | os.PathLike | bytes, *, name: str | None = None,
               max_pixels: int = MAX_PIXELS, slice: int | None = None) -> tuple[np.ndarray, ImageMeta]:
    """Read an image file (path) or uploaded file (``bytes``) as float32 in [0, 1].

    Parameters
    ----------
    source : path or bytes
        PNG, JPEG, BMP, WebP, TIFF, GIF (8/16-bit; gray, RGB, RGBA, LA, palette, CMYK, 1-bit),
        NumPy ``.npy`` (never unpickled), DICOM (single- or multi-frame; JPEG, JPEG-LS and JPEG 2000
        through pylibjpeg) or NIfTI-1/2 (``.nii``, ``.nii.gz``).
    name : str, optional
        Name used in messages and for the format guess; required sense for bytes (the file name).
    max_pixels : int
        Largest height × width accepted, checked before decoding. The decoded data of an image or
        volume is also limited to :data:`MAX_DECODED_BYTES`, and both sides must be at least
        :data:`MIN_SIDE`.
    slice : int, optional
        0-based slice of a volume: a frame of a multi-frame DICOM, an axial slice of a NIfTI volume
        (of its first volume when the file holds several, e.g. fMRI). ``None`` takes the middle one.
        A file holding one image has no slices to choose from and ignores it.

    Returns
    -------
    image : np.ndarray
        float32 in [0, 1], (H, W) gray or (H, W, 3) RGB. Alpha is dropped (``meta.had_alpha``).
        A NIfTI slice is reoriented to the closest canonical (RAS) axes and shown with anterior up.
    meta : ImageMeta
        For a volume ``meta.value_range`` spans the whole volume, ``meta.slices`` counts its slices
        and ``meta.slice_index`` is the slice read.

    Raises
    ------
    InvalidImageError
        One line starting with the file name (control characters escaped): missing, not a regular
        file, empty, not an image, corrupt, truncated, too large (pixels or decoded bytes, the limit
        stated), too small, DICOM without pixel data, unusable .npy array, slice out of range.
    InvalidParameterError
        ``slice`` is not a whole number.
    """
    if slice is not None:
        try:
            if isinstance(slice, bool):
                raise TypeError
            slice = operator.index(slice)
        except TypeError:
            raise InvalidParameterError(f"slice: expected a whole number (0-based), got {slice!r}") from None
    label = source_label(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        meta_name = Path(name or "uploaded image").name
        names = (label,)
    else:
        path = Path(source)
        meta_name = name or path.name
        names = (label, path.name)
        data = _read_file(path, label)
    if not data:
        raise InvalidImageError(f"{label}: is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidImageError(f"{label}: file is larger than the limit of {megabytes(MAX_FILE_BYTES)}; "
                                "downscale or crop it first")
    image, meta = _decode(data, names, label, meta_name, max_pixels, slice)
    if min(image.shape[:2]) < MIN_SIDE:
        raise InvalidImageError(f"{label}: image is too small ({image.shape[1]}×{image.shape[0]} pixels); "
                                f"the minimum is {MIN_SIDE}×{MIN_SIDE}, upscale it first")
    image = check_array(image, label)
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32), meta


def source_label(source: str | os.PathLike | bytes, name: str | None = None) -> str:
    """How messages name a file: ``name``, else the path, else "uploaded image" (control characters escaped)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return one_line(name or "uploaded image")
    return one_line(name or str(source))


def _decode(data: bytes, names: tuple[str, ...], label: str, meta_name: str, max_pixels: int,
            slice: int | None) -> tuple[np.ndarray, ImageMeta]:
    """The reader of the format that the suffix of ``names``, else the first bytes, name; any failure of a
    decoder becomes one line naming the file."""
    suffix = next((Path(n).suffix.lower() for n in names if Path(n).suffix), "")
    try:
        if suffix in DICOM_SUFFIXES or data[128:132] == b"DICM":
            return read_dicom(data, label, meta_name, max_pixels, slice)
        if any(n.lower().endswith(NIFTI_SUFFIXES) for n in names) or nifti_version(file_head(data)):
            return read_nifti(data, label, meta_name, max_pixels, slice)
        if data.startswith(b"\x93NUMPY") or suffix == ".npy":
            return read_npy(data, label, meta_name, max_pixels)
        return read_raster(data, label, meta_name, max_pixels)
    except DenoiseError:
        raise
    except MemoryError:
        raise InvalidImageError(f"{label}: not enough memory to decode this image") from None
    except Exception as error:  # every library failure becomes one line naming the file
        raise InvalidImageError(f"{label}: cannot be decoded, the file is corrupt ({error_line(error)})") from None


def _read_file(path: Path, label: str) -> bytes:
    """The bytes of a regular file, at most one byte more than :data:`MAX_FILE_BYTES`."""
    if not path.exists():
        raise InvalidImageError(f"{label}: file not found")
    if path.is_dir():
        raise InvalidImageError(f"{label}: is a folder, not an image file")
    if not path.is_file():
        raise InvalidImageError(f"{label}: is not a regular file (a device, pipe or socket)")
    try:
        with path.open("rb") as file:
            return file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidImageError(f"{label}: cannot be read ({error_line(error)})") from None
