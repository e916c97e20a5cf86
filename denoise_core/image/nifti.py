"""NIfTI-1/2 volumes (.nii, .nii.gz): one axial slice, read slab by slab, in the closest canonical axes."""
from __future__ import annotations

import io
import zlib

import numpy as np

from ..errors import InvalidImageError
from .limits import check_decoded, pick_slice, too_large
from .meta import ImageMeta

_CHUNK_BYTES = 16_000_000
"""Volumes are read this many bytes at a time for their value range, so memory stays at one chunk."""

_NIFTI1_MAGIC = (b"n+1\0", b"ni1\0")  # at byte 344; "ni1" is the header of a .hdr/.img pair
_NIFTI2_MAGIC = (b"n+2\0\r\n\x1a\n", b"ni2\0\r\n\x1a\n")  # at byte 4


def file_head(data: bytes, size: int = 544) -> bytes:
    """The first ``size`` bytes of a file, decompressed when it is gzip (b"" when that fails)."""
    if not data.startswith(b"\x1f\x8b"):
        return data[:size]
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, size)
    except zlib.error:
        return b""


def nifti_version(head: bytes) -> int | None:
    """1 or 2 for a NIfTI header (single file or pair), None otherwise."""
    if head[344:348] in _NIFTI1_MAGIC:
        return 1
    if head[4:12] in _NIFTI2_MAGIC:
        return 2
    return None


def read_nifti(data: bytes, label: str, meta_name: str, max_pixels: int, index: int | None):
    """An axial slice of a NIfTI-1/2 volume, in the closest canonical (RAS) orientation, anterior up."""
    import gzip

    import nibabel
    from nibabel.orientations import apply_orientation, io_orientation

    head = file_head(data)
    version = nifti_version(head)
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
        raise too_large(label, width, height, max_pixels)
    check_decoded(label, spatial, dtype.itemsize, "volume")
    k = pick_slice(label, count, index)
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
