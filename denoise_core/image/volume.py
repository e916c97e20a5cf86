"""Whole volumes one slice at a time: the slices of a NIfTI or multi-frame DICOM file, and a volume file
written from slices as they come (NIfTI, a DICOM series, a 16-bit TIFF stack), moved into place when whole."""
from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..errors import DenoiseError, InvalidImageError, InvalidParameterError, one_line
from ..paths import write_atomically
from .dicom import encode_dicom
from .limits import error_line
from .meta import ImageMeta
from .nifti import NiftiVolume
from .pixels import quantise
from .read import read_image, source_label
from .tiff_units import units_page, units_wanted

Slices = Iterable[tuple[np.ndarray, ImageMeta]]
"""Every slice of a volume in order, each a [0, 1] image with the meta it was read with."""


def volume_slices(source: str | os.PathLike | bytes, *, name: str | None = None) -> tuple[ImageMeta, Iterator]:
    """The meta of slice 0 (``meta.slices`` counts them) and an iterator over every slice of a volume file.

    Each slice is ``read_image(source, slice=i)``: mapped through the whole volume's range, read slab by
    slab, so memory holds the file's bytes and one slice. A plain image is refused (one line).
    """
    first = read_image(source, name=name, slice=0)
    if first[1].slices < 2:
        raise InvalidImageError(f"{source_label(source, name)}: is not a volume (it holds one image, no slices)")

    def rest() -> Iterator[tuple[np.ndarray, ImageMeta]]:
        yield first
        for index in range(1, first[1].slices):
            yield read_image(source, name=name, slice=index)
    return first[1], rest()


def volume_format(out: str | os.PathLike) -> str:
    """The volume format ``out`` names: "nifti" (.nii, .nii.gz), "tiff" (.tif, .tiff) or "dicom" (a name
    without a suffix: a folder of one DICOM file per slice)."""
    path = Path(out)
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".tif", ".tiff")):
        return "tiff"
    if not path.suffix:
        return "dicom"
    raise InvalidParameterError(f"{one_line(str(out))}: unsupported volume output {path.suffix!r}; use .nii or "
                                ".nii.gz (NIfTI), .tif or .tiff (a 16-bit TIFF stack) or a folder name without "
                                "a suffix (a DICOM series)")


def write_volume(out: str | os.PathLike, meta: ImageMeta, slices: Slices) -> None:
    """Write a volume file from its slices, taken one at a time, in the format ``out`` names (:func:`volume_format`).

    ``meta`` is the source's (any slice's), checked against ``out`` before the first slice is asked for.
    NIfTI keeps the source's affine, header and data type (a NIfTI source only; the volume is held at that
    data type, see ``NiftiVolume``); a DICOM series (one file per slice, ``0001.dcm``...) shares a new
    SeriesInstanceUID, each file with a new SOPInstanceUID, InstanceNumber = slice + 1 and its source frame's
    header (see :func:`encode_dicom`); a TIFF stack has one 16-bit page per slice, in the source's units
    where it has them. The DICOM and TIFF writers hold one slice. The file (or folder) is written under a
    temporary name beside ``out`` and moved into place only when ``slices`` is exhausted: an exception
    from ``slices`` (a cancel) or from writing leaves nothing at ``out``.

    Raises
    ------
    InvalidParameterError
        Unsupported suffix, or a NIfTI output from a source that is not NIfTI.
    DenoiseError
        A missing folder, a DICOM series folder that exists and is not empty, a failed write (one line).
    """
    path = Path(out)
    label = one_line(str(path))
    fmt = volume_format(path)
    volume = NiftiVolume(meta, label) if fmt == "nifti" else None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DenoiseError(f"{label}: cannot write, folder {one_line(str(folder))} does not exist")
    if fmt == "dicom" and path.exists() and not (path.is_dir() and not any(path.iterdir())):
        raise DenoiseError(f"{label}: already exists; a DICOM series is written into a new or empty folder")
    try:
        if fmt == "dicom":
            _write_series_whole(path, folder, slices)
        elif fmt == "nifti":
            compress = path.name.lower().endswith(".gz")
            write_atomically(path, lambda temp: _write_nifti(Path(temp), volume, slices, compress=compress))
        else:
            write_atomically(path, lambda temp: _write_stack(Path(temp), slices))
    except OSError as error:
        raise DenoiseError(f"{label}: cannot write ({error_line(error)})") from None


def _write_series_whole(path: Path, folder: Path, slices: Slices) -> None:
    """The series into a temporary folder beside ``path``, renamed onto it once every slice is written (an
    empty folder at ``path`` is replaced); removed on any failure."""
    temp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        _write_series(temp, slices)
        os.replace(temp, path)
    finally:
        if temp.is_dir():
            shutil.rmtree(temp)


def _write_nifti(temp: Path, volume: NiftiVolume, slices: Slices, compress: bool) -> None:
    for image, meta in slices:
        volume.put(image, meta)
    with (gzip.open if compress else open)(temp, "wb") as file:
        volume.write(file)


def _write_series(temp: Path, slices: Slices) -> None:
    from pydicom.uid import generate_uid

    series, study = generate_uid(), generate_uid()
    for image, meta in slices:
        shared = {"SeriesInstanceUID": series, "InstanceNumber": meta.slice_index + 1}
        if meta.dicom_header is None:  # a new Secondary Capture per slice: one study for them all
            shared["StudyInstanceUID"] = study
        (temp / f"{meta.slice_index + 1:04d}.dcm").write_bytes(encode_dicom(image, meta, attributes=shared))


def _write_stack(temp: Path, slices: Slices) -> None:
    import tifffile

    with tifffile.TiffWriter(temp) as tif:
        for image, meta in slices:
            pixels, description = units_page(image, meta) if units_wanted(meta) else (quantise(image, 16), None)
            tif.write(pixels, photometric="rgb" if pixels.ndim == 3 else "minisblack", description=description,
                      metadata=None)
