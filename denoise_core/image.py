"""Images in and out. Inside the library an image is a float32 array in [0, 1], (H, W) or (H, W, 3)."""
from __future__ import annotations

import io
import json
import operator
import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DenoiseError, InvalidImageError, InvalidParameterError, one_line


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


# --- Reading ---------------------------------------------------------------------------------------

MAX_PIXELS = 12_000_000
"""Largest image (height × width) the readers accept, checked from the header before decoding: noise
classification needs about 90 bytes a pixel for colour (65 for gray), so a 4000×3000 photo keeps the
whole command within 1.5 GB."""

MAX_DECODED_BYTES = 300_000_000
"""Largest decoded size the readers accept, checked from the header before decoding: width × height ×
channels × bytes per sample of an image, voxels × bytes per voxel of a volume (NIfTI, multi-frame
DICOM)."""

MAX_FILE_BYTES = MAX_DECODED_BYTES
"""Largest file the readers take in at all (an image file is never larger than its decoded data, headers
aside); read no further, so a device such as /dev/zero or a huge file never fills the memory."""

MIN_SIDE = 16
"""Smallest width and height :func:`read_image` accepts, in pixels: every page and command (SSIM's
window, the noise estimators' blocks, the power spectrum) works from this size up."""

_CHUNK_BYTES = 16_000_000
"""Volumes are read this many bytes at a time for their value range, so memory stays at one chunk."""

DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
TIFF_UNITS_KEY = "denoise_workbench"
"""Key of the JSON that a TIFF written with source units carries in its ImageDescription."""
_SIGNATURES = {  # magic bytes of the formats PIL reads here -> name, for "corrupt" versus "not an image"
    b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"GIF8": "GIF",
    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WEBP",
}


@dataclass(frozen=True)
class ImageMeta:
    """Where an image came from and how its [0, 1] values map back to the file's units.

    ``value_range`` holds the source values that map to 0 and 1 (``(0, 255)`` for 8-bit,
    ``(0, 65535)`` for 16-bit, a HU range for CT; reversed for an inverted MONOCHROME1 DICOM). For a
    volume it is the range of the whole volume, so every slice maps the same source value to the same
    [0, 1] value. ``slices`` is the number of slices in the file (1 for a plain image) and
    ``slice_index`` the 0-based slice that was read. ``dicom_header`` is the source DICOM dataset
    without its pixel data, serialised (explicit VR little endian, no file meta), so that
    :func:`save_image` can write a DICOM that keeps the source's header; it stays out of
    ``describe()``, ``notes`` and ``repr``.
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
        if self.units or self.modality or self.format == "NPY" or not _plain_range(self.value_range):
            items.append(f"0..1 maps to {lo:g}..{hi:g}{' ' + self.units if self.units else ''}")
        if self.window is not None:
            items.append(f"window centre {self.window[0]:g}, width {self.window[1]:g}")
        return tuple(items)


def _plain_range(value_range: tuple[float, float]) -> bool:
    """True for the ranges a plain image file implies: 0..1, 0..255, 0..65535."""
    return tuple(map(float, value_range)) in ((0.0, 1.0), (0.0, 255.0), (0.0, 65535.0))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _too_large(label: str, width: int | None, height: int | None, max_pixels: int) -> InvalidImageError:
    size = f" ({width}×{height} = {width * height:,} pixels)" if width and height else ""
    return InvalidImageError(f"{label}: image is too large{size}; the limit is {max_pixels:,} pixels, "
                             "downscale or crop it first")


def _megabytes(count: int) -> str:
    """``count`` bytes for a message: "1.4 GB", "392 MB" or "15,360 bytes"."""
    if count >= 1e9:
        return f"{count / 1e9:.1f} GB"
    return f"{count / 1e6:.0f} MB" if count >= 1e6 else f"{count:,} bytes"


def _check_decoded(label: str, shape: tuple[int, ...], itemsize: int, what: str = "image") -> None:
    """Refuse, before decoding, data whose decoded ``shape`` of ``itemsize``-byte samples exceeds
    :data:`MAX_DECODED_BYTES`."""
    needed = int(np.prod(shape, dtype=object)) * itemsize
    if needed > MAX_DECODED_BYTES:
        size = "×".join(map(str, shape))
        raise InvalidImageError(f"{label}: {what} is too large to decode ({size} samples of {itemsize} "
                                f"byte{'' if itemsize == 1 else 's'} need {_megabytes(needed)} decoded, "
                                f"the limit is {_megabytes(MAX_DECODED_BYTES)}); "
                                + ("downscale or crop it first" if what == "image" else "save fewer slices first"))


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
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = one_line(name or "uploaded image")
        meta_name = Path(name or "uploaded image").name
        names = (label,)
    else:
        path = Path(source)
        label = one_line(name or str(source))
        meta_name = name or path.name
        names = (label, path.name)
        data = _read_file(path, label)
    if not data:
        raise InvalidImageError(f"{label}: is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidImageError(f"{label}: file is larger than the limit of {_megabytes(MAX_FILE_BYTES)}; "
                                "downscale or crop it first")
    suffix = next((Path(n).suffix.lower() for n in names if Path(n).suffix), "")
    try:
        if suffix in DICOM_SUFFIXES or data[128:132] == b"DICM":
            image, meta = _read_dicom(data, label, meta_name, max_pixels, slice)
        elif any(n.lower().endswith(NIFTI_SUFFIXES) for n in names) or _nifti_version(_head(data)):
            image, meta = _read_nifti(data, label, meta_name, max_pixels, slice)
        elif data.startswith(b"\x93NUMPY") or suffix == ".npy":
            image, meta = _read_npy(data, label, meta_name, max_pixels)
        else:
            image, meta = _read_pil(data, label, meta_name, max_pixels)
    except DenoiseError:
        raise
    except MemoryError:
        raise InvalidImageError(f"{label}: not enough memory to decode this image") from None
    except Exception as error:  # every library failure becomes one line naming the file
        raise InvalidImageError(f"{label}: cannot be decoded, the file is corrupt ({_one_line(error)})") from None
    if min(image.shape[:2]) < MIN_SIDE:
        raise InvalidImageError(f"{label}: image is too small ({image.shape[1]}×{image.shape[0]} pixels); "
                                f"the minimum is {MIN_SIDE}×{MIN_SIDE}, upscale it first")
    image = check_array(image, label)
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32), meta


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
        raise InvalidImageError(f"{label}: cannot be read ({_one_line(error)})") from None


def _pick_slice(label: str, count: int, index: int | None) -> int:
    """The 0-based slice to read from a volume of ``count`` slices (``None``: the middle one)."""
    if index is None:
        return count // 2
    if not 0 <= index < count:
        raise InvalidImageError(f"{label}: slice {index} is out of range, the volume has {count} "
                                f"slice{'' if count == 1 else 's'} (0–{count - 1})")
    return index


def _finish(array: np.ndarray, label: str) -> tuple[np.ndarray, bool]:
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


def _scale(array: np.ndarray, label: str) -> tuple[np.ndarray, int, tuple[float, float]]:
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


def _read_npy(data: bytes, label: str, meta_name: str, max_pixels: int):
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = header(stream)
    except Exception as error:
        raise InvalidImageError(f"{label}: is not a valid NumPy .npy file ({_one_line(error)})") from None
    if dtype.hasobject:
        raise InvalidImageError(f"{label}: holds Python objects (pickled data); refused for safety, "
                                "save a numeric array instead")
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise InvalidImageError(f"{label}: unsupported array dtype {dtype}; expected integers or floats")
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3, 4))):
        raise InvalidImageError(f"{label}: unsupported array shape {tuple(shape)}; "
                                "expected (H, W) or (H, W, 1/3/4)")
    if shape[0] * shape[1] > max_pixels:
        raise _too_large(label, shape[1], shape[0], max_pixels)
    _check_decoded(label, tuple(shape), dtype.itemsize)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise InvalidImageError(f"{label}: is truncated or corrupt ({_one_line(error)})") from None
    array, had_alpha = _finish(array, label)
    image, bits, value_range = _scale(array, label)
    return image, ImageMeta(meta_name, "NPY", bits, value_range, image.ndim == 3, None, had_alpha=had_alpha)


_NIFTI1_MAGIC = (b"n+1\0", b"ni1\0")  # at byte 344; "ni1" is the header of a .hdr/.img pair
_NIFTI2_MAGIC = (b"n+2\0\r\n\x1a\n", b"ni2\0\r\n\x1a\n")  # at byte 4


def _head(data: bytes, size: int = 544) -> bytes:
    """The first ``size`` bytes of a file, decompressed when it is gzip (b"" when that fails)."""
    if not data.startswith(b"\x1f\x8b"):
        return data[:size]
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, size)
    except zlib.error:
        return b""


def _nifti_version(head: bytes) -> int | None:
    """1 or 2 for a NIfTI header (single file or pair), None otherwise."""
    if head[344:348] in _NIFTI1_MAGIC:
        return 1
    if head[4:12] in _NIFTI2_MAGIC:
        return 2
    return None


def _read_nifti(data: bytes, label: str, meta_name: str, max_pixels: int, index: int | None):
    """An axial slice of a NIfTI-1/2 volume, in the closest canonical (RAS) orientation, anterior up."""
    import gzip

    import nibabel
    from nibabel.orientations import apply_orientation, io_orientation

    head = _head(data)
    version = _nifti_version(head)
    if version is None:
        if len(head) < 348:  # too short for a header, or a gzip stream that breaks off inside it
            raise InvalidImageError(f"{label}: cannot be decoded, the file is truncated or corrupt "
                                    "(incomplete NIfTI header)")
        raise InvalidImageError(f"{label}: is not a NIfTI file (no NIfTI-1 or NIfTI-2 header)")
    if head[344:348] == b"ni1\0" or head[4:8] == b"ni2\0":
        raise InvalidImageError(f"{label}: is the header of a .hdr/.img NIfTI pair; save the volume as a "
                                "single .nii or .nii.gz file")
    stream = gzip.GzipFile(fileobj=io.BytesIO(data)) if data.startswith(b"\x1f\x8b") else io.BytesIO(data)
    header = (nibabel.Nifti1Header if version == 1 else nibabel.Nifti2Header).from_fileobj(stream)
    shape, dtype = tuple(int(n) for n in header.get_data_shape()), header.get_data_dtype()
    if dtype.fields is not None or dtype.kind not in "biuf":
        kind = header.get_value_label("datatype")
        raise InvalidImageError(f"{label}: unsupported NIfTI data type {kind}; expected integers or floats")
    if len(shape) < 2 or min(shape) < 1:
        raise InvalidImageError(f"{label}: unsupported NIfTI shape {shape}; expected a 2-D, 3-D or 4-D image")
    spatial = (shape + (1,))[:3]
    volumes = int(np.prod(shape[3:])) if len(shape) > 3 else 1
    ornt = io_orientation(header.get_best_affine())
    if np.isnan(ornt).any():  # degenerate affine: keep the stored axes
        ornt = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)
    axis = {int(out): inp for inp, (out, _) in enumerate(ornt)}  # RAS axis -> stored axis
    width, height, count = spatial[axis[0]], spatial[axis[1]], spatial[axis[2]]
    if width * height > max_pixels:
        raise _too_large(label, width, height, max_pixels)
    _check_decoded(label, spatial, dtype.itemsize, "volume")
    k = _pick_slice(label, count, index)
    stored_axis = axis[2]  # the slice in stored order: RAS axis 2 may be flipped
    stored_index = count - 1 - k if ornt[stored_axis, 1] < 0 else k
    plane, low, high, has_nan = _nifti_pass(stream, header.get_data_offset(), spatial, dtype,
                                            stored_axis, stored_index, label)
    plane = np.expand_dims(plane, stored_axis)
    plane = np.rot90(apply_orientation(plane, ornt)[:, :, 0]).astype(np.float64)  # rows: anterior up
    notes = [f"volume 1 of {volumes}"] if volumes > 1 else []
    if has_nan:
        plane = np.where(np.isfinite(plane), plane, low)
        notes.append("NaN voxels shown as the minimum")
    slope, inter = header.get_slope_inter()
    if slope is not None:
        plane = plane * slope + (inter or 0.0)
        low, high = sorted((low * slope + (inter or 0.0), high * slope + (inter or 0.0)))
    span = high - low if high > low else 1.0
    bits = 32 if dtype.kind == "f" else dtype.itemsize * 8
    rescale = (float(slope), float(inter or 0.0)) if slope is not None else None
    image = ((plane - low) / span).astype(np.float32)
    return image, ImageMeta(meta_name, "NIfTI", bits, (low, low + span), False, None, note=", ".join(notes),
                            rescale=rescale, slices=count, slice_index=k)


def _nifti_pass(stream, offset: int, spatial: tuple[int, int, int], dtype: np.dtype, stored_axis: int,
                stored_index: int, label: str) -> tuple[np.ndarray, float, float, bool]:
    """One pass over the first volume, a few slabs at a time: the stored plane ``stored_index`` along
    ``stored_axis``, the finite minimum and maximum, and whether any voxel is NaN or infinite."""
    from nibabel.volumeutils import array_from_file

    nx, ny, nz = spatial
    slab = nx * ny * dtype.itemsize
    step = max(1, _CHUNK_BYTES // slab)
    low, high, has_nan, parts = np.inf, -np.inf, False, []
    for z in range(0, nz, step):
        depth = min(step, nz - z)
        try:  # NIfTI stores Fortran order: slab z starts z * slab bytes in
            block = array_from_file((nx, ny, depth), dtype, stream, offset=offset + z * slab, order="F", mmap=False)
        except OSError:
            raise InvalidImageError(f"{label}: cannot be decoded, the file is truncated (its voxel data needs "
                                    f"{slab * nz:,} bytes)") from None
        finite = np.isfinite(block) if dtype.kind == "f" else None
        if finite is not None and not finite.all():
            has_nan = True
            low = min(low, float(np.min(block, where=finite, initial=np.inf)))
            high = max(high, float(np.max(block, where=finite, initial=-np.inf)))
        elif block.size:
            low, high = min(low, float(block.min())), max(high, float(block.max()))
        if stored_axis != 2:
            parts.append(np.take(block, stored_index, axis=stored_axis))
        elif z <= stored_index < z + depth:
            parts.append(block[:, :, stored_index - z].copy())
    if low > high:
        raise InvalidImageError(f"{label}: holds no finite values (all NaN or infinite)")
    return (parts[0] if stored_axis == 2 else np.concatenate(parts, axis=1)), low, high, has_nan


def _png_header(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) of a PNG, None if not a PNG."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 26 and data[12:16] == b"IHDR":
        return data[24], data[25]
    return None


def _decode_cv2(data: bytes, label: str) -> np.ndarray:
    import cv2
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise InvalidImageError(f"{label}: is truncated or corrupt (the 16-bit decoder failed)")
    if array.ndim == 3 and array.shape[2] >= 3:
        array = array[..., [2, 1, 0, 3][:array.shape[2]]]  # BGR(A) -> RGB(A)
    return array


def _decode_tifffile(data: bytes, label: str, max_pixels: int) -> np.ndarray:
    """A TIFF PIL cannot read fully (16-bit colour): tifffile, else OpenCV (e.g. LZW without imagecodecs)."""
    try:
        return _tifffile(data, label, max_pixels)
    except DenoiseError:
        raise
    except Exception as error:
        try:
            return _decode_cv2(data, label)
        except DenoiseError:
            raise InvalidImageError(f"{label}: is a corrupt or unsupported TIFF file ({_one_line(error)})") from None


def _tifffile(data: bytes, label: str, max_pixels: int) -> np.ndarray:
    import tifffile
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        shape = page.shape
        height, width = (shape[1], shape[2]) if page.planarconfig == 2 and len(shape) == 3 else shape[:2]
        if height * width > max_pixels:
            raise _too_large(label, width, height, max_pixels)
        _check_decoded(label, tuple(shape), page.dtype.itemsize)
        array = page.asarray()
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (1, 2, 3, 4):
        array = np.moveaxis(array, 0, -1)
    return array


_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}  # PNG colour type -> decoded channels (palette: RGBA at most)
_MODE_BYTES = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}  # PIL mode -> bytes per sample


def _read_png16(data: bytes, label: str, meta_name: str, colour: int):
    """A 16-bit colour or gray + alpha PNG through OpenCV, which keeps the 16 bits."""
    array = _decode_cv2(data, label)
    if colour == 4:  # gray + alpha comes back as BGRA from OpenCV
        array = array[..., [0, 3]] if array.ndim == 3 and array.shape[2] == 4 else array
    return _from_array(array, label, meta_name, "PNG")


def _read_pil(data: bytes, label: str, meta_name: str, max_pixels: int):
    from PIL import Image, ImageOps, UnidentifiedImageError

    kind = next((fmt for magic, fmt in _SIGNATURES.items() if data.startswith(magic)), None)
    if kind == "TIFF":
        info = _tiff_units(data)
        if info is not None and info["stored"] is not None:
            return _read_tiff_units(data, info, label, meta_name, max_pixels)
    png = _png_header(data)
    if png is not None:  # the size from IHDR, before PIL reads any further
        width, height = struct.unpack(">II", data[16:24])
        if width * height > max_pixels:
            raise _too_large(label, width, height, max_pixels)
        depth, colour = png
        _check_decoded(label, (height, width, _PNG_CHANNELS.get(colour, 4)), 2 if depth == 16 else 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(label, None, None, max_pixels) from None
        except UnidentifiedImageError:
            if kind == "TIFF":  # a TIFF PIL cannot open (e.g. unusual sample format): try tifffile
                try:
                    array = _decode_tifffile(data, label, max_pixels)
                except DenoiseError:
                    raise
                except Exception as error:
                    raise InvalidImageError(f"{label}: is a corrupt TIFF file ({_one_line(error)})") from None
                return _from_array(array, label, meta_name, "TIFF")
            if kind is None:
                raise InvalidImageError(f"{label}: is not an image (unknown format)") from None
            raise InvalidImageError(f"{label}: is a corrupt {kind} file (cannot read its header)") from None
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as error:
            raise InvalidImageError(f"{label}: is a corrupt {kind or 'image'} file ({_one_line(error)})") from None
        width, height = im.size
        if width * height > max_pixels:
            raise _too_large(label, width, height, max_pixels)
        _check_decoded(label, (height, width, len(im.getbands())), _MODE_BYTES.get(im.mode, 1))
        fmt = im.format or kind or "image"
        try:
            im.load()  # full decode now: truncation shows here (LOAD_TRUNCATED_IMAGES stays False)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(label, width, height, max_pixels) from None
        except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as error:
            raise InvalidImageError(f"{label}: is truncated or corrupt ({_one_line(error)})") from None
    if png is not None and png[0] == 16 and png[1] in (2, 4, 6):  # PIL dropped to 8 bits: OpenCV keeps 16
        return _read_png16(data, label, meta_name, png[1])
    if fmt == "TIFF":
        bits = im.tag_v2.get(258, 8) if hasattr(im, "tag_v2") else 8
        bits = max(bits) if isinstance(bits, tuple) else bits
        if bits > 8 and im.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
            return _from_array(_decode_tifffile(data, label, max_pixels), label, meta_name, "TIFF")
    im = ImageOps.exif_transpose(im)
    had_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info)
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode in ("LA", "La"):
        im = im.convert("L")
    elif im.mode in ("P", "PA"):
        im = im.convert("RGBA" if had_alpha else "RGB")
    elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        im = im.convert("RGB")
    elif im.mode in ("I;16B", "I;16L", "I;16N"):
        im = im.convert("I;16") if im.mode != "I;16" else im
    array = np.asarray(im)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("="))
    return _from_array(array, label, meta_name, fmt, had_alpha)


def _from_array(array: np.ndarray, label: str, meta_name: str, fmt: str, had_alpha: bool = False):
    array, dropped = _finish(array, label)
    image, bits, value_range = _scale(array, label)
    return image, ImageMeta(meta_name, fmt, bits, value_range, image.ndim == 3, None,
                            had_alpha=had_alpha or dropped)


def _first(value) -> float | None:
    """A DICOM number that may be multi-valued -> its first value as float (None if absent)."""
    if value is None or isinstance(value, (bytes, str)) and not value.strip():
        return None
    try:
        if not isinstance(value, (str, bytes)) and hasattr(value, "__len__"):
            value = value[0]
        return float(value)
    except (TypeError, ValueError, IndexError):
        return None


_PIXEL_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) Pixel Data, little endian


def _volume_range(ds) -> tuple[float, float]:
    """The range after the modality LUT over every frame of a multi-frame DICOM, one frame at a time."""
    from pydicom.pixels import apply_modality_lut, iter_pixels

    lut = bool(ds.get("ModalityLUTSequence"))
    low, high = np.inf, -np.inf
    for frame in iter_pixels(ds):
        ends = frame if lut else np.array([frame.min(), frame.max()], frame.dtype)
        with np.errstate(all="ignore"):
            ends = np.asarray(apply_modality_lut(ends, ds), dtype=np.float64)
        low, high = min(low, float(ends.min())), max(high, float(ends.max()))
    return low, high


def _read_dicom(data: bytes, label: str, meta_name: str, max_pixels: int, index: int | None = None):
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, pixel_array

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data))
    except InvalidDicomError:
        try:  # some DICOM files lack the 128-byte preamble; only trust a forced read if it finds pixels
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(io.BytesIO(data), force=True)
        except Exception:
            ds = None
        if ds is None or "PixelData" not in ds:
            raise InvalidImageError(f"{label}: is not a DICOM file (no DICM header)") from None
    if not any(tag in ds for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        if _PIXEL_TAG in data:  # the element is there but pydicom stopped before it: a cut file
            raise InvalidImageError(f"{label}: DICOM file is truncated or corrupt (its pixel data cannot be read)")
        raise InvalidImageError(f"{label}: DICOM file has no pixel data (e.g. a report or structure set)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows * cols > max_pixels:
        raise _too_large(label, cols, rows, max_pixels)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    shape = ((frames,) if frames > 1 else ()) + (rows, cols) + ((samples,) if samples > 1 else ())
    _check_decoded(label, shape, (int(ds.get("BitsAllocated", 16) or 16) + 7) // 8,
                   "volume" if frames > 1 else "image")
    k = _pick_slice(label, frames, index) if frames > 1 else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = pixel_array(ds, index=k) if frames > 1 else ds.pixel_array
            volume_range = _volume_range(ds) if frames > 1 and samples == 1 else None
    except Exception as error:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        what = f" ({syntax.name})" if syntax is not None and hasattr(syntax, "name") else ""
        raise InvalidImageError(f"{label}: DICOM pixel data cannot be decoded{what}, the file is truncated or "
                                f"corrupt: {_one_line(error)}") from None
    note = ""
    modality = str(ds.get("Modality", "")) or None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    bits = int(ds.get("BitsAllocated", 16) or 16)
    if samples > 1 or photometric == "PALETTE COLOR":
        if photometric == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut
            array = apply_color_lut(array, ds)
        array, had_alpha = _finish(array, label)
        image, depth, value_range = _scale(array, label)
        return image, ImageMeta(meta_name, "DICOM", depth, value_range, True, modality,
                                had_alpha=had_alpha, note=note, slices=frames, slice_index=k,
                                dicom_header=_dicom_header(ds, k, frames))
    slope, intercept = _first(ds.get("RescaleSlope")), _first(ds.get("RescaleIntercept"))
    with np.errstate(all="ignore"):  # an absurd slope overflows: refused below, without a warning
        values = np.asarray(apply_modality_lut(array, ds), dtype=np.float64)
    if values.ndim != 2:
        raise InvalidImageError(f"{label}: unsupported DICOM pixel array shape {values.shape}")
    if not np.isfinite(values).all():
        cause = "contains NaN or infinite values" if slope is None else (
            f"overflows with RescaleSlope {slope:g} and RescaleIntercept {intercept or 0:g}; fix the file's rescale")
        raise InvalidImageError(f"{label}: DICOM pixel data {cause}")
    # a volume maps by the whole volume's range, so every frame maps a value to the same [0, 1] level
    lo, hi = volume_range or (float(values.min()), float(values.max()))
    span = hi - lo if hi > lo else 1.0
    image = (values - lo) / span
    value_range = (lo, lo + span)
    if photometric == "MONOCHROME1":  # 0 means white: invert so bright is bright
        image = 1.0 - image
        value_range = (lo + span, lo)
    centre, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    window = (centre, width) if centre is not None and width is not None and width > 0 else None
    rescale_type = str(ds.get("RescaleType", "")).strip()
    units = "HU" if modality == "CT" and rescale_type in ("", "HU") else (
        rescale_type if rescale_type not in ("", "US") else "")
    rescale = (slope if slope is not None else 1.0, intercept if intercept is not None else 0.0) \
        if slope is not None or intercept is not None else None
    return image.astype(np.float32), ImageMeta(meta_name, "DICOM", bits, value_range, False, modality,
                                               window=window, units=units, note=note, rescale=rescale,
                                               slices=frames, slice_index=k,
                                               dicom_header=_dicom_header(ds, k, frames))


_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData", "ExtendedOffsetTable",
                   "ExtendedOffsetTableLengths")
_BULK_LIMIT = 64 * 1024  # binary elements larger than this (private blobs, big overlays) are not kept


def _dicom_header(ds, index: int, frames: int) -> bytes | None:
    """The dataset without pixel data (and, for a multi-frame file, reduced to frame ``index``), as bytes;
    None when pydicom cannot write it back (the image still reads; a DICOM save then starts afresh)."""
    try:
        return _serialise_header(ds, index, frames)
    except Exception:
        return None


def _serialise_header(ds, index: int, frames: int) -> bytes:
    from pydicom import dcmwrite
    from pydicom.dataset import FileMetaDataset
    from pydicom.sequence import Sequence

    for keyword in _PIXEL_KEYWORDS:
        if keyword in ds:
            del ds[keyword]
    for element in list(ds):
        if element.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN") and element.value is not None \
                and len(element.value) > _BULK_LIMIT:
            del ds[element.tag]
    if frames > 1:
        ds.NumberOfFrames = 1
        per_frame = ds.get("PerFrameFunctionalGroupsSequence")
        if per_frame is not None and len(per_frame) == frames:
            ds.PerFrameFunctionalGroupsSequence = Sequence([per_frame[index]])
    ds.file_meta = FileMetaDataset()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


# --- Converting and writing ------------------------------------------------------------------------

def to_source_units(image: np.ndarray, meta: ImageMeta) -> np.ndarray:
    """Map [0, 1] values back to the file's units (e.g. HU for CT, 0..65535 for 16-bit) as float64."""
    lo, hi = meta.value_range
    return lo + np.asarray(image, dtype=np.float64) * (hi - lo)


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


def _quantise(image: np.ndarray, bit_depth: int) -> np.ndarray:
    top = 65535.0 if bit_depth == 16 else 255.0
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    return np.round(np.clip(image.astype(np.float64), 0.0, 1.0) * top).astype(dtype)


FORMATS = {"png": (8, 16), "tiff": (8, 16), "jpeg": (8,), "bmp": (8,), "webp": (8,), "npy": (8, 16, 32),
           "dicom": (8, 16)}
SUFFIXES = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg",
            ".bmp": "bmp", ".webp": "webp", ".npy": "npy", ".dcm": "dicom", ".dicom": "dicom"}


def _integer_source(meta: ImageMeta) -> bool:
    """Whether the source's values are whole numbers (CT in HU, 8/16-bit data), judged from ``meta``."""
    if meta.bit_depth not in (8, 16):
        return False
    if meta.rescale is not None and not all(float(v).is_integer() for v in meta.rescale):
        return False
    return all(float(v).is_integer() for v in meta.value_range)


def _units_wanted(meta: ImageMeta | None) -> bool:
    """Whether a 16-bit TIFF should carry the source's units (its range is not a plain 0..1/255/65535)."""
    return meta is not None and not _plain_range(meta.value_range)


def _encode_tiff_units(image: np.ndarray, meta: ImageMeta) -> bytes:
    """A 16-bit TIFF of the source values plus a JSON ImageDescription that restores ``meta``'s mapping.

    Whole-number sources within int16 (CT in HU) or uint16 are stored as their values; any other is
    stored as [0, 1] × 65535 (``"stored": "scaled"``), the JSON's ``value_range`` mapping it back.
    """
    import tifffile
    lo, hi = (float(v) for v in meta.value_range)
    clipped = np.clip(image.astype(np.float64), 0.0, 1.0)
    stored, dtype = "scaled", np.uint16
    if _integer_source(meta):
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
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels.astype(dtype), photometric="rgb" if pixels.ndim == 3 else "minisblack",
                     description=json.dumps(info), metadata=None)
    return buffer.getvalue()


def _tiff_units(data: bytes) -> dict | None:
    """The JSON a TIFF with source units carries (see :func:`_encode_tiff_units`), None for any other TIFF."""
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


def _read_tiff_units(data: bytes, info: dict, label: str, meta_name: str, max_pixels: int):
    array = _tifffile(data, label, max_pixels)
    if array.ndim == 3 and array.shape[2] not in (1, 3):
        raise InvalidImageError(f"{label}: unsupported TIFF shape {array.shape} for an image with units")
    array, _ = _finish(array, label)
    lo, hi = info["value_range"]
    if info["stored"] == "source":
        image = (array.astype(np.float64) - lo) / (hi - lo)
    else:
        image = array.astype(np.float64) / 65535.0
    return image.astype(np.float32), ImageMeta(meta_name, "TIFF", info["bit_depth"], (lo, hi), image.ndim == 3,
                                               info["modality"], window=info["window"], units=info["units"],
                                               rescale=info["rescale"])


# --- DICOM out -------------------------------------------------------------------------------------

DERIVATION = "Processed by Denoise Workbench"
_MODALITY_CODES = {"MRI": "MR", "X-RAY": "DX", "XRAY": "DX"}
_DROPPED_ON_WRITE = ("SmallestImagePixelValue", "LargestImagePixelValue", "SmallestPixelValueInSeries",
                     "LargestPixelValueInSeries", "IconImageSequence", "RedPaletteColorLookupTableDescriptor",
                     "GreenPaletteColorLookupTableDescriptor", "BluePaletteColorLookupTableDescriptor",
                     "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData",
                     "BluePaletteColorLookupTableData", "SegmentedRedPaletteColorLookupTableData",
                     "SegmentedGreenPaletteColorLookupTableData", "SegmentedBluePaletteColorLookupTableData",
                     "PaletteColorLookupTableUID")


def _ds_number(value: float) -> float:
    """``value`` as a DICOM decimal string (at most 16 characters) would hold it."""
    from pydicom.valuerep import format_number_as_ds
    return float(format_number_as_ds(float(value)))


def _new_dicom(meta: ImageMeta | None):
    """A Secondary Capture dataset (patient and study left blank) for an image without a DICOM source."""
    from pydicom.dataset import Dataset
    from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.StudyInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "", "", "", ""
    ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName, ds.StudyID, ds.AccessionNumber = "", "", "", "", ""
    code = (meta.modality or "").upper() if meta is not None else ""
    code = _MODALITY_CODES.get(code, code)
    valid = 0 < len(code) <= 16 and all(c.isascii() and (c.isalnum() or c in " _") for c in code)
    ds.Modality = code if valid else "OT"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ConversionType = "WSD"
    ds.PatientOrientation = ""
    return ds


def _set_pixels(ds, pixels: np.ndarray) -> None:
    """PixelData from an integer array, little endian, OB for 8-bit and OW otherwise, even length."""
    data = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()
    ds.add_new(0x7FE00010, "OB" if pixels.dtype.itemsize == 1 else "OW", data + b"\0" * (len(data) % 2))


def _set_gray_fitted(ds, image: np.ndarray, meta: ImageMeta) -> None:
    """16-bit unsigned pixels with RescaleSlope/Intercept that give back the source values."""
    lo, hi = (float(v) for v in meta.value_range)
    low, high = min(lo, hi), max(lo, hi)
    values = to_source_units(np.clip(image, 0.0, 1.0), meta)
    if _integer_source(meta) and high - low <= 65535:
        slope, intercept = 1.0, _ds_number(np.floor(low))
    else:
        slope, intercept = _ds_number((high - low) / 65535.0 if high > low else 1.0), _ds_number(low)
    stored = np.clip(np.round((values - intercept) / slope), 0, 65535).astype(np.uint16)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME1" if lo > hi else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.RescaleType = "HU" if meta.units == "HU" else (meta.units[:64] if meta.units else "US")
    if "ModalityLUTSequence" in ds:
        del ds.ModalityLUTSequence
    if meta.window is not None:
        ds.WindowCenter, ds.WindowWidth = _ds_number(meta.window[0]), _ds_number(meta.window[1])
    _set_pixels(ds, stored)


def _set_gray_as_source(ds, image: np.ndarray, meta: ImageMeta) -> None:
    """Pixels in the source's own representation: stored = (value − intercept) / slope, rounded."""
    bits_stored, signed = int(ds.BitsStored), int(ds.get("PixelRepresentation", 0) or 0) == 1
    slope, intercept = meta.rescale or (1.0, 0.0)
    values = to_source_units(np.clip(image, 0.0, 1.0), meta)
    low, high = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
    stored = np.clip(np.round((values - intercept) / slope), low, high)
    dtype = np.dtype(f"{'i' if signed else 'u'}{int(ds.BitsAllocated) // 8}").newbyteorder("<")
    ds.SamplesPerPixel = 1
    _set_pixels(ds, stored.astype(dtype))


def _set_rgb(ds, image: np.ndarray, bit_depth: int) -> None:
    pixels = _quantise(image, 16 if bit_depth >= 16 else 8)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    for keyword in ("RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence", "WindowCenter",
                    "WindowWidth", "VOILUTSequence"):
        if keyword in ds:
            del ds[keyword]
    _set_pixels(ds, pixels)


def encode_dicom(image: np.ndarray, meta: ImageMeta | None = None, *, deidentify_key: str | None = None) -> bytes:
    """Encode an image as a DICOM file (explicit VR little endian, uncompressed, one frame).

    With a DICOM source (``meta.dicom_header``) the source's header is kept and the image is written
    back in its units and pixel representation (signed/unsigned, BitsStored, MONOCHROME1/2):
    stored = (value − RescaleIntercept) / RescaleSlope, rounded; a source with a modality LUT or an
    unusual pixel format gets 16-bit pixels with a rescale instead. Without one, a Secondary Capture:
    16-bit MONOCHROME2 with RescaleSlope/RescaleIntercept giving ``meta.value_range``'s units, or
    8-bit RGB for colour. Either way the file gets new SOP Instance and Series UIDs, ImageType
    DERIVED\\SECONDARY and a DerivationDescription naming Denoise Workbench.

    ``deidentify_key``: when given, the header is de-identified (``denoise_core.deidentify``: names, IDs
    and UIDs remapped, dates shifted, private elements removed), the same key giving the same
    replacements; None keeps the source's header as it is.

    Raises
    ------
    DenoiseError
        The dataset cannot be encoded (one line).
    """
    image = check_array(image)
    try:
        return _encode_dicom(image, meta, deidentify_key)
    except DenoiseError:
        raise
    except Exception as error:
        raise DenoiseError(f"cannot encode the image as DICOM ({_one_line(error)})") from None


def _encode_dicom(image: np.ndarray, meta: ImageMeta | None, deidentify_key: str | None) -> bytes:
    import datetime

    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    source = None
    if meta is not None and meta.dicom_header:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(meta.dicom_header), force=True)
        ds.file_meta = FileMetaDataset()
        source = (str(ds.get("SOPClassUID", "")), str(ds.get("SOPInstanceUID", "")))
        old_rows, old_cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    else:
        ds = _new_dicom(meta)
        old_rows = old_cols = 0
    mapping = meta if meta is not None else ImageMeta("image", "array", 16, (0.0, 65535.0), image.ndim == 3, None)
    for keyword in _DROPPED_ON_WRITE:
        if keyword in ds:
            del ds[keyword]
    ds.Rows, ds.Columns = image.shape[:2]
    if image.ndim == 3:
        _set_rgb(ds, image, mapping.bit_depth if source else 8)
    else:
        if "PlanarConfiguration" in ds:
            del ds.PlanarConfiguration
        as_source = (source is not None and not mapping.color and "ModalityLUTSequence" not in ds
                     and str(ds.get("PhotometricInterpretation", "")).upper() in ("MONOCHROME1", "MONOCHROME2")
                     and int(ds.get("BitsAllocated", 0) or 0) in (8, 16, 32)
                     and 0 < int(ds.get("BitsStored", 0) or 0) <= int(ds.BitsAllocated))
        if as_source:
            _set_gray_as_source(ds, image, mapping)
        else:
            _set_gray_fitted(ds, image, mapping)
    if old_rows and old_cols and (old_rows, old_cols) != image.shape[:2]:  # resized (super-resolution)
        _rescale_spacing(ds, old_rows / image.shape[0], old_cols / image.shape[1])
    now = datetime.datetime.now()
    ds.SOPInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    kept = ds.get("ImageType") or []
    kept = [str(v) for v in ([kept] if isinstance(kept, str) else kept)][2:]  # e.g. AXIAL, LOCALIZER
    ds.ImageType = ["DERIVED", "SECONDARY"] + kept
    ds.DerivationDescription = DERIVATION
    ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    if not ds.get("ContentDate"):
        ds.ContentDate, ds.ContentTime = ds.InstanceCreationDate, ds.InstanceCreationTime
    if source is not None and all(source):
        reference = Dataset()
        reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = source
        ds.SourceImageSequence = Sequence([reference])
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if deidentify_key is not None:
        from .deidentify import deidentify
        deidentify(ds, deidentify_key)
    ds.preamble = b"\0" * 128
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _rescale_spacing(ds, row_factor: float, col_factor: float) -> None:
    """Scale PixelSpacing-like attributes (top level and functional groups) after a resize."""
    def fix(item) -> None:
        for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
            spacing = item.get(keyword)
            if spacing is not None and len(spacing) == 2:
                item[keyword].value = [_ds_number(float(spacing[0]) * row_factor),
                                       _ds_number(float(spacing[1]) * col_factor)]
        for group in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
            for entry in item.get(group) or []:
                for measures in entry.get("PixelMeasuresSequence") or []:
                    fix(measures)
    fix(ds)


def encode_image(image: np.ndarray, *, format: str = "png", bit_depth: int = 8,
                 meta: ImageMeta | None = None) -> bytes:
    """Encode an image as file bytes.

    Parameters
    ----------
    image : np.ndarray
        (H, W) or (H, W, 3); values are clipped to [0, 1].
    format : {"png", "tiff", "jpeg", "bmp", "webp", "npy", "dicom"}
        WebP is lossless, JPEG quality 95; "npy" stores float32 whatever ``bit_depth`` says;
        "dicom" (also "dcm") see :func:`encode_dicom`, its pixel format follows ``meta``.
    bit_depth : {8, 16}
        16 only for PNG and TIFF (and accepted for DICOM, which ignores it).
    meta : ImageMeta, optional
        The source's metadata. A 16-bit TIFF of a source whose ``value_range`` is not a plain
        0..1/0..255/0..65535 stores the source values (int16 for whole numbers within its range, such
        as HU, else uint16) and a JSON ImageDescription that :func:`read_image` turns back into the
        same mapping. DICOM uses it for the header, units and window.

    Raises
    ------
    InvalidParameterError
        Unknown format or a bit depth the format cannot hold.
    """
    fmt = str(format).lower().lstrip(".")
    fmt = {"tif": "tiff", "jpg": "jpeg", "dcm": "dicom"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InvalidParameterError(f"format: unknown image format {format!r}; choose one of {', '.join(FORMATS)}")
    if bit_depth not in FORMATS[fmt]:
        raise InvalidParameterError(f"bit_depth: {fmt.upper()} cannot store {bit_depth}-bit images; "
                                    f"use {' or '.join(map(str, FORMATS[fmt]))}")
    image = check_array(image)
    buffer = io.BytesIO()
    if fmt == "dicom":
        return encode_dicom(image, meta)
    if fmt == "npy":
        np.save(buffer, np.clip(image, 0.0, 1.0).astype(np.float32), allow_pickle=False)
        return buffer.getvalue()
    if fmt == "tiff" and bit_depth == 16 and _units_wanted(meta):
        return _encode_tiff_units(image, meta)
    pixels = _quantise(image, bit_depth)
    if fmt == "tiff":
        import tifffile
        tifffile.imwrite(buffer, pixels, photometric="rgb" if pixels.ndim == 3 else "minisblack")
        return buffer.getvalue()
    if bit_depth == 16:  # PNG
        if pixels.ndim == 2:
            from PIL import Image
            Image.fromarray(pixels).save(buffer, format="PNG")
            return buffer.getvalue()
        import cv2
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]))
        if not ok:
            raise DenoiseError("could not encode the 16-bit PNG")
        return encoded.tobytes()
    from PIL import Image
    options = {"jpeg": {"quality": 95}, "webp": {"lossless": True}}.get(fmt, {})
    Image.fromarray(pixels).save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()


def save_image(path: str | os.PathLike, image: np.ndarray, *, meta: ImageMeta | None = None,
               bit_depth: int | None = None) -> None:
    """Write an image, its format taken from the suffix, atomically (temp file, then rename).

    ``bit_depth=None`` keeps the source's depth: 16 when ``meta.bit_depth >= 16`` and the format can
    hold it, else 8; a TIFF of a source with units (CT in HU, a NIfTI or ``.npy`` range) is 16-bit
    with those units (see :func:`encode_image`). ``.dcm`` writes DICOM (see :func:`encode_dicom`).
    A failure never leaves a half-written file at ``path``.

    Raises
    ------
    InvalidParameterError
        Unsupported suffix, or a bit depth the format cannot hold.
    DenoiseError
        The file cannot be written (missing folder, no permission, disk full).
    """
    path = Path(path)
    label = one_line(str(path))
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidParameterError(f"{label}: unsupported output format {path.suffix or '(no suffix)'!r}; "
                                    f"use one of {', '.join(SUFFIXES)}")
    if bit_depth is None:
        wants_16 = meta is not None and (meta.bit_depth >= 16 or (fmt == "tiff" and _units_wanted(meta)))
        bit_depth = 16 if wants_16 and 16 in FORMATS[fmt] else 8
    try:
        data = encode_image(image, format=fmt, bit_depth=bit_depth, meta=meta)
    except DenoiseError as error:
        raise type(error)(f"{label}: cannot save ({error})") from None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DenoiseError(f"{label}: cannot write, folder {one_line(str(folder))} does not exist")
    handle, temp = None, None
    try:
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            handle = None
            file.write(data)
        os.replace(temp, path)
        temp = None
    except OSError as error:
        raise DenoiseError(f"{label}: cannot write ({_one_line(error)})") from None
    finally:
        if handle is not None:
            os.close(handle)
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
