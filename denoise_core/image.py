"""Images in and out. Inside the library an image is a float32 array in [0, 1], (H, W) or (H, W, 3)."""
from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DenoiseError, InvalidImageError, InvalidParameterError


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

MAX_PIXELS = 50_000_000
"""Largest image (height × width) the readers accept; checked from the header before decoding."""

DICOM_SUFFIXES = (".dcm", ".dicom")
_SIGNATURES = {  # magic bytes of the formats PIL reads here -> name, for "corrupt" versus "not an image"
    b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"GIF8": "GIF",
    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WEBP",
}


@dataclass(frozen=True)
class ImageMeta:
    """Where an image came from and how its [0, 1] values map back to the file's units.

    ``value_range`` holds the source values that map to 0 and 1 (``(0, 255)`` for 8-bit,
    ``(0, 65535)`` for 16-bit, a HU range for CT; reversed for an inverted MONOCHROME1 DICOM).
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
    rescale: tuple[float, float] | None = None  # DICOM (slope, intercept) applied on reading

    def describe(self, shape: tuple[int, ...] | None = None) -> str:
        """One short line, e.g. ``"PNG · 16-bit · gray · 512×512"`` (size only when ``shape`` is given)."""
        parts = [self.format, f"{self.bit_depth}-bit" + (" float" if self.bit_depth == 32 else ""),
                 "colour" if self.color else "gray"]
        if shape is not None:
            parts.append(f"{shape[1]}×{shape[0]}")
        if self.modality:
            parts.append(self.modality)
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
        if self.units or self.modality or self.format == "NPY":
            items.append(f"0..1 maps to {lo:g}..{hi:g}{' ' + self.units if self.units else ''}")
        if self.window is not None:
            items.append(f"window centre {self.window[0]:g}, width {self.window[1]:g}")
        return tuple(items)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _too_large(label: str, width: int | None, height: int | None, max_pixels: int) -> InvalidImageError:
    size = f" ({width}×{height} = {width * height:,} pixels)" if width and height else ""
    return InvalidImageError(f"{label}: image is too large{size}; the limit is {max_pixels:,} pixels")


def read_image(source: str | os.PathLike | bytes, *, name: str | None = None,
               max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, ImageMeta]:
    """Read an image file (path) or uploaded file (``bytes``) as float32 in [0, 1].

    Parameters
    ----------
    source : path or bytes
        PNG, JPEG, BMP, WebP, TIFF, GIF (8/16-bit; gray, RGB, RGBA, LA, palette, CMYK, 1-bit),
        NumPy ``.npy`` (never unpickled) or DICOM.
    name : str, optional
        Name used in messages and for the format guess; required sense for bytes (the file name).
    max_pixels : int
        Largest height × width accepted, checked before decoding.

    Returns
    -------
    image : np.ndarray
        float32 in [0, 1], (H, W) gray or (H, W, 3) RGB. Alpha is dropped (``meta.had_alpha``).
    meta : ImageMeta

    Raises
    ------
    InvalidImageError
        One line starting with the file name: missing, empty, not an image, corrupt, truncated,
        too large, DICOM without pixel data, unusable .npy array.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "uploaded image"
        meta_name = Path(label).name
    else:
        path = Path(source)
        label = name or str(source)
        meta_name = name or path.name
        if not path.exists():
            raise InvalidImageError(f"{label}: file not found")
        if path.is_dir():
            raise InvalidImageError(f"{label}: is a folder, not an image file")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InvalidImageError(f"{label}: cannot be read ({_one_line(error)})") from None
    if not data:
        raise InvalidImageError(f"{label}: is empty (0 bytes)")
    suffix = (Path(label).suffix or ("" if isinstance(source, (bytes, bytearray, memoryview))
                                      else Path(source).suffix)).lower()
    try:
        if suffix in DICOM_SUFFIXES or data[128:132] == b"DICM":
            image, meta = _read_dicom(data, label, meta_name, max_pixels)
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
    image = check_array(image, label)
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32), meta


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
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise InvalidImageError(f"{label}: is truncated or corrupt ({_one_line(error)})") from None
    array, had_alpha = _finish(array, label)
    image, bits, value_range = _scale(array, label)
    return image, ImageMeta(meta_name, "NPY", bits, value_range, image.ndim == 3, None, had_alpha=had_alpha)


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
        array = page.asarray()
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (1, 2, 3, 4):
        array = np.moveaxis(array, 0, -1)
    return array


def _read_pil(data: bytes, label: str, meta_name: str, max_pixels: int):
    from PIL import Image, ImageOps, UnidentifiedImageError

    kind = next((fmt for magic, fmt in _SIGNATURES.items() if data.startswith(magic)), None)
    if _png_header(data) is not None:  # the size from IHDR, before PIL reads any further
        width, height = struct.unpack(">II", data[16:24])
        if width * height > max_pixels:
            raise _too_large(label, width, height, max_pixels)
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
        fmt = im.format or kind or "image"
        try:
            im.load()  # full decode now: truncation shows here (LOAD_TRUNCATED_IMAGES stays False)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(label, width, height, max_pixels) from None
        except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as error:
            raise InvalidImageError(f"{label}: is truncated or corrupt ({_one_line(error)})") from None
    png = _png_header(data)
    if png is not None and png[0] == 16 and png[1] in (2, 4, 6):  # PIL would drop to 8 bits
        array = _decode_cv2(data, label)
        if png[1] == 4:  # gray + alpha comes back as BGRA from OpenCV
            array = array[..., [0, 3]] if array.ndim == 3 and array.shape[2] == 4 else array
        return _from_array(array, label, meta_name, "PNG")
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


def _read_dicom(data: bytes, label: str, meta_name: str, max_pixels: int):
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut

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
        raise InvalidImageError(f"{label}: DICOM file has no pixel data (e.g. a report or structure set)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows * cols > max_pixels:
        raise _too_large(label, cols, rows, max_pixels)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = ds.pixel_array
    except Exception as error:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        what = f" ({syntax.name})" if syntax is not None and hasattr(syntax, "name") else ""
        raise InvalidImageError(f"{label}: DICOM pixel data cannot be decoded{what}: {_one_line(error)}") from None
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    note = ""
    if frames > 1 and array.ndim == (3 if samples == 1 else 4):
        index = frames // 2
        array = array[index]
        note = f"frame {index + 1} of {frames}"
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
                                had_alpha=had_alpha, note=note)
    slope, intercept = _first(ds.get("RescaleSlope")), _first(ds.get("RescaleIntercept"))
    values = np.asarray(apply_modality_lut(array, ds), dtype=np.float64)
    if values.ndim != 2:
        raise InvalidImageError(f"{label}: unsupported DICOM pixel array shape {values.shape}")
    if not np.isfinite(values).all():
        raise InvalidImageError(f"{label}: DICOM pixel data contains NaN or infinite values")
    lo, hi = float(values.min()), float(values.max())
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
                                               window=window, units=units, note=note, rescale=rescale)


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


FORMATS = {"png": (8, 16), "tiff": (8, 16), "jpeg": (8,), "bmp": (8,), "webp": (8,), "npy": (8, 16, 32)}
SUFFIXES = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg",
            ".bmp": "bmp", ".webp": "webp", ".npy": "npy"}


def encode_image(image: np.ndarray, *, format: str = "png", bit_depth: int = 8) -> bytes:
    """Encode an image as file bytes.

    Parameters
    ----------
    image : np.ndarray
        (H, W) or (H, W, 3); values are clipped to [0, 1].
    format : {"png", "tiff", "jpeg", "bmp", "webp", "npy"}
        WebP is lossless, JPEG quality 95; "npy" stores float32 whatever ``bit_depth`` says.
    bit_depth : {8, 16}
        16 only for PNG and TIFF.

    Raises
    ------
    InvalidParameterError
        Unknown format or a bit depth the format cannot hold.
    """
    fmt = str(format).lower().lstrip(".")
    fmt = {"tif": "tiff", "jpg": "jpeg"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InvalidParameterError(f"format: unknown image format {format!r}; choose one of {', '.join(FORMATS)}")
    if bit_depth not in FORMATS[fmt]:
        raise InvalidParameterError(f"bit_depth: {fmt.upper()} cannot store {bit_depth}-bit images; "
                                    f"use {' or '.join(map(str, FORMATS[fmt]))}")
    image = check_array(image)
    buffer = io.BytesIO()
    if fmt == "npy":
        np.save(buffer, np.clip(image, 0.0, 1.0).astype(np.float32), allow_pickle=False)
        return buffer.getvalue()
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
    hold it, else 8. A failure never leaves a half-written file at ``path``.

    Raises
    ------
    InvalidParameterError
        Unsupported suffix, or a bit depth the format cannot hold.
    DenoiseError
        The file cannot be written (missing folder, no permission, disk full).
    """
    path = Path(path)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidParameterError(f"{path}: unsupported output format {path.suffix or '(no suffix)'!r}; "
                                    f"use one of {', '.join(SUFFIXES)}")
    if bit_depth is None:
        wants_16 = meta is not None and meta.bit_depth >= 16
        bit_depth = 16 if wants_16 and 16 in FORMATS[fmt] else 8
    data = encode_image(image, format=fmt, bit_depth=bit_depth)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DenoiseError(f"{path}: cannot write, folder {folder} does not exist")
    handle, temp = None, None
    try:
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            handle = None
            file.write(data)
        os.replace(temp, path)
        temp = None
    except OSError as error:
        raise DenoiseError(f"{path}: cannot write ({_one_line(error)})") from None
    finally:
        if handle is not None:
            os.close(handle)
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
