"""Raster files through PIL, with OpenCV and tifffile where PIL drops bits: PNG (16-bit colour too),
JPEG, BMP, GIF, WebP and TIFF (a TIFF with source units included)."""
from __future__ import annotations

import io
import struct
import warnings

import numpy as np

from ..errors import DenoiseError, InvalidImageError
from .limits import check_decoded, error_line, too_large
from .meta import ImageMeta
from .pixels import gray_or_rgb, to_unit_range
from .tiff_units import image_with_units, units_info

_SIGNATURES = {  # magic bytes of the formats PIL reads here -> name, for "corrupt" versus "not an image"
    b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"GIF8": "GIF",
    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WEBP",
}


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
            raise InvalidImageError(f"{label}: is a corrupt or unsupported TIFF file ({error_line(error)})") from None


def _tifffile(data: bytes, label: str, max_pixels: int) -> np.ndarray:
    import tifffile
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        shape = page.shape
        height, width = (shape[1], shape[2]) if page.planarconfig == 2 and len(shape) == 3 else shape[:2]
        if height * width > max_pixels:
            raise too_large(label, width, height, max_pixels)
        check_decoded(label, tuple(shape), page.dtype.itemsize)
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


def read_raster(data: bytes, label: str, meta_name: str, max_pixels: int):
    """Any raster file PIL opens; the size is checked from the header before the pixels are decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    kind = next((fmt for magic, fmt in _SIGNATURES.items() if data.startswith(magic)), None)
    if kind == "TIFF":
        info = units_info(data)
        if info is not None and info["stored"] is not None:
            return image_with_units(_tifffile(data, label, max_pixels), info, label, meta_name)
    png = _png_header(data)
    if png is not None:  # the size from IHDR, before PIL reads any further
        width, height = struct.unpack(">II", data[16:24])
        if width * height > max_pixels:
            raise too_large(label, width, height, max_pixels)
        depth, colour = png
        check_decoded(label, (height, width, _PNG_CHANNELS.get(colour, 4)), 2 if depth == 16 else 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large(label, None, None, max_pixels) from None
        except UnidentifiedImageError:
            if kind == "TIFF":  # a TIFF PIL cannot open (e.g. unusual sample format): try tifffile
                try:
                    array = _decode_tifffile(data, label, max_pixels)
                except DenoiseError:
                    raise
                except Exception as error:
                    raise InvalidImageError(f"{label}: is a corrupt TIFF file ({error_line(error)})") from None
                return _from_array(array, label, meta_name, "TIFF")
            if kind is None:
                raise InvalidImageError(f"{label}: is not an image (unknown format)") from None
            raise InvalidImageError(f"{label}: is a corrupt {kind} file (cannot read its header)") from None
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as error:
            raise InvalidImageError(f"{label}: is a corrupt {kind or 'image'} file ({error_line(error)})") from None
        width, height = im.size
        if width * height > max_pixels:
            raise too_large(label, width, height, max_pixels)
        check_decoded(label, (height, width, len(im.getbands())), _MODE_BYTES.get(im.mode, 1))
        fmt = im.format or kind or "image"
        try:
            im.load()  # full decode now: truncation shows here (LOAD_TRUNCATED_IMAGES stays False)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large(label, width, height, max_pixels) from None
        except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as error:
            raise InvalidImageError(f"{label}: is truncated or corrupt ({error_line(error)})") from None
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
    array, dropped = gray_or_rgb(array, label)
    image, bits, value_range = to_unit_range(array, label)
    return image, ImageMeta(meta_name, fmt, bits, value_range, image.ndim == 3, None,
                            had_alpha=had_alpha or dropped)
