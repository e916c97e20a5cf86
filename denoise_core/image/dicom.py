"""DICOM in and out: reading single- and multi-frame files with their units, keeping the header without its
pixel data, and writing a derived image back with that header (or a new Secondary Capture)."""
from __future__ import annotations

import io
import warnings

import numpy as np

from ..errors import DenoiseError, InvalidImageError
from .limits import check_decoded, error_line, pick_slice, too_large
from .meta import ImageMeta, check_array, integer_source, to_source_units
from .pixels import gray_or_rgb, quantise, to_unit_range


# --- Reading ---------------------------------------------------------------------------------------

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


def read_dicom(data: bytes, label: str, meta_name: str, max_pixels: int, index: int | None = None):
    """A DICOM image (frame ``index`` of a multi-frame one): gray in its units after the modality LUT, or colour."""
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
        raise too_large(label, cols, rows, max_pixels)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    shape = ((frames,) if frames > 1 else ()) + (rows, cols) + ((samples,) if samples > 1 else ())
    check_decoded(label, shape, (int(ds.get("BitsAllocated", 16) or 16) + 7) // 8,
                   "volume" if frames > 1 else "image")
    k = pick_slice(label, frames, index) if frames > 1 else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = pixel_array(ds, index=k) if frames > 1 else ds.pixel_array
            volume_range = _volume_range(ds) if frames > 1 and samples == 1 else None
    except Exception as error:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        what = f" ({syntax.name})" if syntax is not None and hasattr(syntax, "name") else ""
        raise InvalidImageError(f"{label}: DICOM pixel data cannot be decoded{what}, the file is truncated or "
                                f"corrupt: {error_line(error)}") from None
    note = ""
    modality = str(ds.get("Modality", "")) or None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    bits = int(ds.get("BitsAllocated", 16) or 16)
    if samples > 1 or photometric == "PALETTE COLOR":
        if photometric == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut
            array = apply_color_lut(array, ds)
        array, had_alpha = gray_or_rgb(array, label)
        image, depth, value_range = to_unit_range(array, label)
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


# --- Writing ---------------------------------------------------------------------------------------

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
    if integer_source(meta) and high - low <= 65535:
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
    pixels = quantise(image, 16 if bit_depth >= 16 else 8)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    for keyword in ("RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence", "WindowCenter",
                    "WindowWidth", "VOILUTSequence"):
        if keyword in ds:
            del ds[keyword]
    _set_pixels(ds, pixels)


def encode_dicom(image: np.ndarray, meta: ImageMeta | None = None, *, deidentify_key: str | None = None,
                 attributes: dict | None = None) -> bytes:
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

    ``attributes``: DICOM keywords and values set last, before any de-identification (e.g. the
    SeriesInstanceUID and InstanceNumber of one file of a series).

    Raises
    ------
    DenoiseError
        The dataset cannot be encoded (one line).
    """
    image = check_array(image)
    try:
        return _encode_dicom(image, meta, deidentify_key, attributes or {})
    except DenoiseError:
        raise
    except Exception as error:
        raise DenoiseError(f"cannot encode the image as DICOM ({error_line(error)})") from None


def _encode_dicom(image: np.ndarray, meta: ImageMeta | None, deidentify_key: str | None, attributes: dict) -> bytes:
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
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if deidentify_key is not None:
        from ..deidentify import deidentify
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
