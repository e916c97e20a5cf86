"""What the readers accept: size limits checked from a file's header before decoding, the slice of a
volume, and the one-line form of a decoder's error."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidImageError

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


def error_line(error: BaseException) -> str:
    """A decoder's or the system's error as the cause quoted in a one-line message (at most 160 characters)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def too_large(label: str, width: int | None, height: int | None, max_pixels: int) -> InvalidImageError:
    """The refusal of an image over ``max_pixels`` (its size when the header gave it)."""
    size = f" ({width}×{height} = {width * height:,} pixels)" if width and height else ""
    return InvalidImageError(f"{label}: image is too large{size}; the limit is {max_pixels:,} pixels, "
                             "downscale or crop it first")


def megabytes(count: int) -> str:
    """``count`` bytes for a message: "1.4 GB", "392 MB" or "15,360 bytes"."""
    if count >= 1e9:
        return f"{count / 1e9:.1f} GB"
    return f"{count / 1e6:.0f} MB" if count >= 1e6 else f"{count:,} bytes"


def check_decoded(label: str, shape: tuple[int, ...], itemsize: int, what: str = "image") -> None:
    """Refuse, before decoding, data whose decoded ``shape`` of ``itemsize``-byte samples exceeds
    :data:`MAX_DECODED_BYTES`."""
    needed = int(np.prod(shape, dtype=object)) * itemsize
    if needed > MAX_DECODED_BYTES:
        size = "×".join(map(str, shape))
        raise InvalidImageError(f"{label}: {what} is too large to decode ({size} samples of {itemsize} "
                                f"byte{'' if itemsize == 1 else 's'} need {megabytes(needed)} decoded, "
                                f"the limit is {megabytes(MAX_DECODED_BYTES)}); "
                                + ("downscale or crop it first" if what == "image" else "save fewer slices first"))


def pick_slice(label: str, count: int, index: int | None) -> int:
    """The 0-based slice to read from a volume of ``count`` slices (``None``: the middle one)."""
    if index is None:
        return count // 2
    if not 0 <= index < count:
        raise InvalidImageError(f"{label}: slice {index} is out of range, the volume has {count} "
                                f"slice{'' if count == 1 else 's'} (0–{count - 1})")
    return index
