"""NIfTI-1/2 volumes (.nii, .nii.gz): one axial slice, read slab by slab, in the closest canonical axes; and a
whole volume written back in the source's axes, data type and header."""
from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidImageError, InvalidParameterError
from .limits import check_decoded, pick_slice, too_large
from .meta import ImageMeta, to_source_units

_CHUNK_BYTES = 16_000_000
"""Volumes are read this many bytes at a time for their value range, so memory stays at one chunk."""

_STORED_AS_IS = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)
"""The orientation (in nibabel's terms) of an array whose stored axes already are R, A and S."""

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
    layout = _layout(header, label)
    width, height = layout.plane_size
    if width * height > max_pixels:
        raise too_large(label, width, height, max_pixels)
    check_decoded(label, layout.spatial, layout.dtype.itemsize, "volume")
    k = pick_slice(label, layout.count, index)
    plane, low, high, has_nan = _nifti_pass(stream, header.get_data_offset(), layout.spatial, layout.dtype,
                                            layout.axis, layout.stored_index(k), label)
    plane = layout.to_slice(plane).astype(np.float64)
    shape = tuple(int(n) for n in header.get_data_shape())
    volumes = int(np.prod(shape[3:])) if len(shape) > 3 else 1
    notes = [f"volume 1 of {volumes}"] if volumes > 1 else []
    if has_nan:
        plane = np.where(np.isfinite(plane), plane, low)
        notes.append("NaN voxels shown as the minimum")
    slope, inter = header.get_slope_inter()
    if slope is not None:
        plane = plane * slope + (inter or 0.0)
        low, high = sorted((low * slope + (inter or 0.0), high * slope + (inter or 0.0)))
    span = high - low if high > low else 1.0
    bits = 32 if layout.dtype.kind == "f" else layout.dtype.itemsize * 8
    rescale = (float(slope), float(inter or 0.0)) if slope is not None else None
    image = ((plane - low) / span).astype(np.float32)
    return image, ImageMeta(meta_name, "NIfTI", bits, (low, low + span), False, None, note=", ".join(notes),
                            rescale=rescale, slices=layout.count, slice_index=k,
                            nifti_header=bytes(header.binaryblock))


@dataclass(frozen=True)
class _Layout:
    """Where the axial slices of a NIfTI volume lie in its stored array, and how one turns to RAS, anterior up."""

    header: object
    spatial: tuple[int, int, int]
    dtype: np.dtype
    ornt: np.ndarray  # stored axes -> RAS axes, as nibabel's io_orientation gives them
    axis: int  # the stored axis the axial slices cut across

    @property
    def count(self) -> int:
        return self.spatial[self.axis]

    @property
    def plane_size(self) -> tuple[int, int]:
        """(width, height) of a slice: the sizes of the stored axes that become R and A."""
        ras = {int(out): inp for inp, (out, _) in enumerate(self.ornt)}
        return self.spatial[ras[0]], self.spatial[ras[1]]

    def stored_index(self, k: int) -> int:
        """The stored plane of axial slice ``k``: RAS axis 2 may run against the stored order."""
        return self.count - 1 - k if self.ornt[self.axis, 1] < 0 else k

    def to_slice(self, plane: np.ndarray) -> np.ndarray:
        """A stored plane (the stored axes but ``axis``) as the axial slice: RAS, anterior up."""
        from nibabel.orientations import apply_orientation
        return np.rot90(apply_orientation(np.expand_dims(plane, self.axis), self.ornt)[:, :, 0])

    def to_plane(self, image: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_slice`."""
        from nibabel.orientations import apply_orientation, ornt_transform
        back = ornt_transform(_STORED_AS_IS, self.ornt)
        return np.take(apply_orientation(np.rot90(image, -1)[:, :, None], back), 0, axis=self.axis)


def _layout(header, label: str) -> _Layout:
    """The layout of the volume ``header`` describes (its first volume when it holds several); its data type
    and shape checked."""
    from nibabel.orientations import io_orientation

    shape, dtype = tuple(int(n) for n in header.get_data_shape()), header.get_data_dtype()
    if dtype.fields is not None or dtype.kind not in "biuf":
        kind = header.get_value_label("datatype")
        raise InvalidImageError(f"{label}: unsupported NIfTI data type {kind}; expected integers or floats")
    if len(shape) < 2 or min(shape) < 1:
        raise InvalidImageError(f"{label}: unsupported NIfTI shape {shape}; expected a 2-D, 3-D or 4-D image")
    ornt = io_orientation(header.get_best_affine())
    if np.isnan(ornt).any():  # degenerate affine: keep the stored axes
        ornt = _STORED_AS_IS
    axis = next(inp for inp, (out, _) in enumerate(ornt) if int(out) == 2)
    return _Layout(header, (shape + (1,))[:3], dtype, ornt, axis)


class NiftiVolume:
    """The slices of a NIfTI source gathered in its stored axes and data type, then written with its header.

    NIfTI stores voxels in the source's axis order, which axial slices may cross, so the whole output
    volume is held: at the source's data type, no larger than the ``MAX_DECODED_BYTES`` its reading
    checked. The file keeps the source's header (affine, units, scl_slope/scl_inter; extensions
    dropped) and holds its first volume.
    """

    def __init__(self, meta: ImageMeta, label: str):
        import nibabel

        if meta.nifti_header is None:
            raise InvalidParameterError(f"{label}: a NIfTI volume is written from a NIfTI source, whose affine "
                                        "and header it keeps; write a .tif stack or a DICOM series instead")
        kind = nibabel.Nifti1Header if len(meta.nifti_header) == nibabel.Nifti1Header.sizeof_hdr \
            else nibabel.Nifti2Header
        self.layout = _layout(kind(binaryblock=meta.nifti_header), label)
        self.data = np.zeros(self.layout.spatial, self.layout.dtype)

    def put(self, image: np.ndarray, meta: ImageMeta) -> None:
        """Store slice ``meta.slice_index`` (a [0, 1] image read with ``meta``) in the source's stored values."""
        slope, inter = meta.rescale or (1.0, 0.0)
        stored = (to_source_units(image, meta) - inter) / slope
        if self.data.dtype.kind in "iu":
            limits = np.iinfo(self.data.dtype)
            stored = np.clip(np.round(stored), limits.min, limits.max)
        planes = np.moveaxis(self.data, self.layout.axis, 0)
        planes[self.layout.stored_index(meta.slice_index)] = self.layout.to_plane(stored)

    def write(self, file) -> None:
        """The volume as one .nii file (header, no extensions, voxels in Fortran order) to a binary ``file``."""
        header = self.layout.header.copy()
        header.set_data_shape(self.data.shape)
        header.set_data_offset(header.single_vox_offset)
        file.write(bytes(header.binaryblock) + b"\0" * 4)
        for z in range(self.data.shape[2]):  # one stored plane at a time
            file.write(self.data[:, :, z].tobytes(order="F"))


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
