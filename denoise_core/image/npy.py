"""NumPy .npy files: header checked before loading, never unpickled."""
from __future__ import annotations

import io

import numpy as np

from ..errors import InvalidImageError
from .limits import check_decoded, error_line, too_large
from .meta import ImageMeta
from .pixels import gray_or_rgb, to_unit_range


def read_npy(data: bytes, label: str, meta_name: str, max_pixels: int):
    """A numeric (H, W) or (H, W, 1/3/4) array; its shape and dtype are checked from the header first."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = header(stream)
    except Exception as error:
        raise InvalidImageError(f"{label}: is not a valid NumPy .npy file ({error_line(error)})") from None
    if dtype.hasobject:
        raise InvalidImageError(f"{label}: holds Python objects (pickled data); refused for safety, "
                                "save a numeric array instead")
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise InvalidImageError(f"{label}: unsupported array dtype {dtype}; expected integers or floats")
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3, 4))):
        raise InvalidImageError(f"{label}: unsupported array shape {tuple(shape)}; "
                                "expected (H, W) or (H, W, 1/3/4)")
    if shape[0] * shape[1] > max_pixels:
        raise too_large(label, shape[1], shape[0], max_pixels)
    check_decoded(label, tuple(shape), dtype.itemsize)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise InvalidImageError(f"{label}: is truncated or corrupt ({error_line(error)})") from None
    array, had_alpha = gray_or_rgb(array, label)
    image, bits, value_range = to_unit_range(array, label)
    return image, ImageMeta(meta_name, "NPY", bits, value_range, image.ndim == 3, None, had_alpha=had_alpha)
