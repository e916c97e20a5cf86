"""A generated corpus of hostile and unusual image files (no committed binaries).

``build(folder)`` writes every file and returns ``{name: (path, expected)}``, ``expected`` being
``"ok"`` (read as an image) or ``"refused"`` (one ``InvalidImageError`` line). Bombs declare sizes
the readers must refuse from the header; ``full=True`` writes their whole (compressible) pixel data,
as a hostile user would, ``full=False`` only the start, to keep the test suite fast.
"""
from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RNG = np.random.default_rng(7)
MARKER = "pickle_ran.txt"
"""Created in the corpus folder if the malicious ``.npy`` is ever unpickled."""


def _noisy(height: int, width: int, channels: int = 1) -> np.ndarray:
    y, x = np.mgrid[:height, :width]
    base = 0.5 + 0.3 * np.sin(x / 5.0) * np.cos(y / 7.0)
    image = base[..., None] + 0.05 * RNG.standard_normal((height, width, channels))
    image = np.clip(image, 0, 1)
    return image[..., 0] if channels == 1 else image


def _u8(image: np.ndarray) -> np.ndarray:
    return np.round(image * 255).astype(np.uint8)


def _zeros_deflated(count: int, *, head: bytes = b"", wbits: int = zlib.MAX_WBITS) -> bytes:
    """``head`` then ``count`` zero bytes, deflated (level 9, so a bomb stays small; gzip for ``wbits``
    16 + 15), without holding the zeros in memory."""
    packer, chunk = zlib.compressobj(9, zlib.DEFLATED, wbits), bytes(1 << 22)
    parts = [packer.compress(head)]
    while count > 0:
        parts.append(packer.compress(chunk[:min(count, len(chunk))]))
        count -= len(chunk)
    return b"".join(parts) + packer.flush()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, depth: int, colour: int, channels: int, full: bool) -> bytes:
    """A valid PNG of zeros (filter byte 0 per row) whose header declares ``width``×``height``."""
    row = 1 + width * channels * depth // 8
    data = _zeros_deflated(row * height if full else row * 64)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", data)
            + _png_chunk(b"IEND", b""))


def tiff_bomb(width: int, height: int, samples: int, bits: int, full: bool) -> bytes:
    """A deflate-compressed single-strip TIFF of zeros declaring ``width``×``height``×``samples``."""
    size = width * height * samples * bits // 8
    strip = _zeros_deflated(size if full else 1 << 20)
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits), (259, 3, 1, 8),
               (262, 3, 1, 2 if samples >= 3 else 1), (273, 4, 1, 0), (277, 3, 1, samples),
               (278, 4, 1, height), (279, 4, 1, len(strip)), (339, 3, 1, 3 if bits == 64 else 1)]
    ifd_size = 2 + 12 * len(entries) + 4
    offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = offset if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + strip


def npy_header_only(shape: tuple[int, ...], dtype: str) -> bytes:
    """A .npy whose header claims ``shape`` and which holds 1 KB of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(1024)


def nifti_bomb(shape: tuple[int, ...], full: bool) -> bytes:
    """A .nii.gz of float64 zeros declaring ``shape`` (392 M voxels: 3 GB decoded, 3 MB gzip'd)."""
    import nibabel
    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.float64)
    head = header.binaryblock + bytes(4)  # the 4-byte extension flag: voxels start at 352
    voxels = int(np.prod(shape)) * 8 if full else 1 << 22
    return _zeros_deflated(voxels, head=head, wbits=16 + zlib.MAX_WBITS)


def _dicom(pixels: np.ndarray, *, slope: float = 1.0, frames: int | None = None, syntax=None,
           fragments: list[bytes] | None = None) -> bytes:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = syntax or ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset("x.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Modality, ds.PatientName = "CT", "Hostile^Corpus"
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if frames:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, -1024
    if fragments is not None:
        ds.PixelData = encapsulate(fragments)
        ds["PixelData"].VR = "OB"
    else:
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def dicom_frame_bomb(frames: int) -> bytes:
    """A JPEG 2000 multi-frame DICOM: one 512×512 zero frame compressed once, repeated ``frames`` times."""
    from pydicom.pixels import get_encoder
    from pydicom.uid import JPEG2000Lossless
    zero = np.zeros((512, 512), np.uint16)
    frame = get_encoder(JPEG2000Lossless).encode(
        zero, rows=512, columns=512, samples_per_pixel=1, bits_allocated=16, bits_stored=16,
        pixel_representation=0, photometric_interpretation="MONOCHROME2", number_of_frames=1)
    return _dicom(zero, frames=frames, syntax=JPEG2000Lossless, fragments=[frame] * frames)


def _truncated_j2k_dicom() -> bytes:
    """A 512×512 JPEG 2000 CT (pydicom-data) cut inside its pixel data."""
    import data_store
    data = (Path(data_store.__file__).parent / "data" / "explicit_VR-UN.dcm").read_bytes()
    return data[:int(len(data) * 0.6)]


def _encode(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png16(array: np.ndarray) -> bytes:
    import cv2
    pixels = np.round(array * 65535).astype(np.uint16)
    return cv2.imencode(".png", pixels[..., ::-1] if pixels.ndim == 3 else pixels)[1].tobytes()


def _tiff16(array: np.ndarray) -> bytes:
    import tifffile
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.round(array * 65535).astype(np.uint16))
    return buffer.getvalue()


def _npy(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


class _Payload:
    """Unpickling this opens (creates) ``path``: the proof that a pickle ran."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("image.png", b"not really")
    return buffer.getvalue()


def _nifti(volume: np.ndarray) -> bytes:
    import nibabel
    return gzip.compress(nibabel.Nifti1Image(volume, np.eye(4)).to_bytes())


def _contents(folder: Path, full: bool) -> dict[str, tuple[bytes, str]]:
    gray, rgb = _noisy(64, 64), _noisy(48, 64, 3)
    rgba = np.dstack([_u8(rgb), np.full((48, 64), 200, np.uint8)])
    jpeg = _encode(_u8(rgb), "JPEG", quality=90)
    png16 = _png16(rgb)
    return {
        # good files
        "gray.png": (_encode(_u8(gray), "PNG"), "ok"),
        "rgb.jpg": (jpeg, "ok"),
        "gray16.png": (_png16(gray), "ok"),
        "rgb16.png": (png16, "ok"),
        "rgb16.tif": (_tiff16(rgb), "ok"),
        "rgba.png": (_encode(rgba, "PNG"), "ok"),
        "la.png": (_encode(np.dstack([_u8(gray)] * 2), "PNG"), "ok"),
        "palette.png": (_pil_bytes(Image.fromarray(_u8(rgb)).convert("P"), "PNG"), "ok"),
        "cmyk.jpg": (_pil_bytes(Image.fromarray(_u8(rgb)).convert("CMYK"), "JPEG"), "ok"),
        "one_bit.bmp": (_pil_bytes(Image.fromarray(_u8(gray)).convert("1"), "BMP"), "ok"),
        "rgb.webp": (_encode(_u8(rgb), "WEBP", lossless=True), "ok"),
        "float.npy": (_npy(gray.astype(np.float32)), "ok"),
        "ct.dcm": (_dicom(np.tile(np.arange(0, 2048, 32, dtype=np.uint16), (32, 1))), "ok"),
        "volume.nii.gz": (_nifti(RNG.integers(0, 1000, (40, 36, 6)).astype(np.int16)), "ok"),
        "smallest_16x16.png": (_encode(_u8(_noisy(16, 16)), "PNG"), "ok"),
        # bad files the readers already handled
        "empty.png": (b"", "refused"),
        "text.png": (b"just some text\n" * 10, "refused"),
        "archive.png": (_zip(), "refused"),
        "page.png": (b"<!doctype html><html><body>hello</body></html>", "refused"),
        "corrupt.png": (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 40, "refused"),
        "truncated.jpg": (jpeg[:len(jpeg) // 2], "refused"),
        "truncated16.png": (png16[:len(png16) // 2], "refused"),
        "nan.npy": (_npy(np.full((32, 32), np.nan)), "refused"),
        "pickle.npy": (_npy(np.array([_Payload(str(folder / MARKER))], dtype=object), allow_pickle=True),
                       "refused"),
        "no_pixels.dcm": (_dicom(np.zeros((16, 16)))[:300], "refused"),
        "not_dicom.dcm": (b"\0" * 400, "refused"),
        # tiny images: below MIN_SIDE
        "tiny_8x8.png": (_encode(_u8(_noisy(8, 8)), "PNG"), "refused"),
        "strip_1x500.png": (_encode(_u8(_noisy(1, 500)), "PNG"), "refused"),
        # bombs: compressible data declaring a decoded size beyond the limits
        "bomb_rgba16_7000.png": (png_bomb(7000, 7000, 16, 6, 4, full), "refused"),
        "bomb_gray8_7000.png": (png_bomb(7000, 7000, 8, 0, 1, full), "refused"),
        "bomb_huge_dims.tif": (tiff_bomb(60000, 60000, 1, 8, False), "refused"),
        "bomb_float64_rgba.tif": (tiff_bomb(3400, 3000, 4, 64, full), "refused"),
        "bomb_huge_shape.npy": (npy_header_only((100_000, 100_000), "<f8"), "refused"),
        "bomb_bytes.npy": (npy_header_only((3000, 3400, 4), "<f8"), "refused"),
        "bomb_392M_float64.nii.gz": (nifti_bomb((1024, 1024, 374), full), "refused"),
        "bomb_frames.dcm": (dicom_frame_bomb(1200), "refused"),
        # DICOM oddities
        "absurd_slope.dcm": (_dicom(np.tile(np.arange(0, 2048, 32, dtype=np.uint16), (32, 1)), slope=1e308),
                             "refused"),
        "truncated_j2k.dcm": (_truncated_j2k_dicom(), "refused"),
        # hostile names
        "evil\nname.png": (_encode(_u8(gray), "PNG"), "ok"),
        "evil\r\nnot_an_image.png": (b"text, not pixels\n", "refused"),
        "x" * 200 + ".png": (_encode(_u8(gray), "PNG"), "ok"),
    }


def _pil_bytes(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def build(folder: Path, *, full: bool = False) -> dict[str, tuple[Path, str]]:
    """Write the corpus under ``folder``; return ``{name: (path, expected)}``."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = {}
    for name, (data, expected) in _contents(folder, full).items():
        path = folder / name
        path.write_bytes(data)
        corpus[name] = (path, expected)
    (folder / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
    corpus["../../dotdot.png"] = (folder / "sub" / "deeper" / ".." / ".." / "gray.png", "ok")
    for name, target in (("link_outside.png", __file__), ("link_dev_zero.png", "/dev/zero")):
        link = folder / name
        if link.is_symlink():
            link.unlink()
        os.symlink(target, link)
        corpus[name] = (link, "refused")
    return corpus
