"""encode_image and save_image: the output formats, 8 or 16 bits, written atomically."""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import DenoiseError, InvalidParameterError, one_line
from .dicom import encode_dicom
from .limits import error_line
from .meta import ImageMeta, check_array
from .pixels import quantise
from .tiff_units import encode_tiff_units, units_wanted

OUTPUT_FORMATS = {"png": (8, 16), "tiff": (8, 16), "jpeg": (8,), "bmp": (8,), "webp": (8,), "npy": (8, 16, 32),
                  "dicom": (8, 16)}
"""The formats :func:`encode_image` writes -> the bit depths each accepts."""
OUTPUT_SUFFIXES = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg",
                   ".bmp": "bmp", ".webp": "webp", ".npy": "npy", ".dcm": "dicom", ".dicom": "dicom"}
"""The suffixes :func:`save_image` writes -> their output format."""


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
    if fmt not in OUTPUT_FORMATS:
        raise InvalidParameterError(f"format: unknown image format {format!r}; "
                                    f"choose one of {', '.join(OUTPUT_FORMATS)}")
    if bit_depth not in OUTPUT_FORMATS[fmt]:
        raise InvalidParameterError(f"bit_depth: {fmt.upper()} cannot store {bit_depth}-bit images; "
                                    f"use {' or '.join(map(str, OUTPUT_FORMATS[fmt]))}")
    image = check_array(image)
    buffer = io.BytesIO()
    if fmt == "dicom":
        return encode_dicom(image, meta)
    if fmt == "npy":
        np.save(buffer, np.clip(image, 0.0, 1.0).astype(np.float32), allow_pickle=False)
        return buffer.getvalue()
    if fmt == "tiff" and bit_depth == 16 and units_wanted(meta):
        return encode_tiff_units(image, meta)
    pixels = quantise(image, bit_depth)
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
    fmt = OUTPUT_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidParameterError(f"{label}: unsupported output format {path.suffix or '(no suffix)'!r}; "
                                    f"use one of {', '.join(OUTPUT_SUFFIXES)}")
    if bit_depth is None:
        wants_16 = meta is not None and (meta.bit_depth >= 16 or (fmt == "tiff" and units_wanted(meta)))
        bit_depth = 16 if wants_16 and 16 in OUTPUT_FORMATS[fmt] else 8
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
        raise DenoiseError(f"{label}: cannot write ({error_line(error)})") from None
    finally:
        if handle is not None:
            os.close(handle)
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
