"""denoise_core.image: every format and depth round-trips, DICOM units, and every bad input is one line."""
from __future__ import annotations

import io
import os
import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from denoise_core.errors import DenoiseError, InvalidImageError, InvalidParameterError
from denoise_core.image import (ImageMeta, encode_image, read_image, save_image, to_display,
                                to_source_units)

RNG = np.random.default_rng(0)
GRAY8 = RNG.integers(0, 256, (24, 32), dtype=np.uint8)
RGB8 = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)
GRAY16 = RNG.integers(0, 65536, (24, 32), dtype=np.uint16)
RGB16 = RNG.integers(0, 65536, (24, 32, 3), dtype=np.uint16)


def _check(image, shape):
    assert image.dtype == np.float32 and image.shape == shape
    assert image.min() >= 0.0 and image.max() <= 1.0


# --- Reading each format ----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix,fmt,options", [(".png", "PNG", {}), (".bmp", "BMP", {}), (".tif", "TIFF", {}),
                                                (".webp", "WEBP", {"lossless": True})])
@pytest.mark.parametrize("pixels", [GRAY8, RGB8], ids=["gray", "rgb"])
def test_lossless_8_bit_formats_round_trip_exactly(tmp_path, suffix, fmt, options, pixels):
    path = tmp_path / f"x{suffix}"
    Image.fromarray(pixels).save(path, **options)
    if fmt == "WEBP" and pixels.ndim == 2:  # WebP has no gray mode: PIL stores three equal channels
        pixels = np.dstack([pixels] * 3)
    image, meta = read_image(path)
    _check(image, pixels.shape)
    np.testing.assert_array_equal(to_display(image), pixels)
    assert (meta.format, meta.bit_depth, meta.value_range, meta.color) == (fmt, 8, (0.0, 255.0), pixels.ndim == 3)
    assert meta.modality is None and not meta.had_alpha and meta.name == path.name


def test_sixteen_bit_gray_png_keeps_every_level(tmp_path):
    pixels = GRAY16.copy()
    pixels[0, 0], pixels[0, 1] = 65535, 12345
    Image.fromarray(pixels).save(tmp_path / "g16.png")
    image, meta = read_image(tmp_path / "g16.png")
    assert image[0, 0] == 1.0 and abs(image[0, 1] - 12345 / 65535) < 1e-7
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535).astype(np.uint16), pixels)
    assert meta.bit_depth == 16 and meta.value_range == (0.0, 65535.0) and not meta.color
    np.testing.assert_allclose(to_source_units(image, meta), pixels, atol=0.01)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_colour_keeps_every_level_and_rgb_order(tmp_path, suffix):
    import cv2
    path = tmp_path / f"c16{suffix}"
    cv2.imwrite(str(path), RGB16[..., ::-1])  # OpenCV writes BGR
    image, meta = read_image(path)
    _check(image, RGB16.shape)
    np.testing.assert_array_equal(np.round(image.astype(np.float64) * 65535).astype(np.uint16), RGB16)
    assert meta.bit_depth == 16 and meta.color


def test_sixteen_bit_tiff_gray_and_colour_written_by_tifffile(tmp_path):
    import tifffile
    tifffile.imwrite(tmp_path / "g.tif", GRAY16)
    tifffile.imwrite(tmp_path / "c.tif", RGB16, photometric="rgb")
    gray, gmeta = read_image(tmp_path / "g.tif")
    colour, cmeta = read_image(tmp_path / "c.tif")
    assert gmeta.bit_depth == cmeta.bit_depth == 16
    np.testing.assert_allclose(gray * 65535, GRAY16, atol=0.01)
    np.testing.assert_allclose(colour * 65535, RGB16, atol=0.02)


def test_alpha_is_dropped_and_recorded(tmp_path):
    rgba = np.dstack([RGB8, np.full(GRAY8.shape, 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(np.dstack([GRAY8, GRAY8 // 2])).convert("LA").save(tmp_path / "la.png")
    image, meta = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(to_display(image), RGB8)
    assert meta.had_alpha and meta.color
    gray, gmeta = read_image(tmp_path / "la.png")
    assert gray.shape == GRAY8.shape and gmeta.had_alpha and not gmeta.color
    np.testing.assert_array_equal(to_display(gray), GRAY8)


def test_palette_cmyk_and_one_bit_become_rgb_or_gray(tmp_path):
    palette = Image.fromarray(RGB8).quantize(16)
    palette.save(tmp_path / "p.png")
    expected = np.asarray(palette.convert("RGB"))
    image, meta = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(to_display(image), expected)
    assert meta.color
    Image.fromarray(RGB8).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    cmyk, cmeta = read_image(tmp_path / "cmyk.jpg")
    assert cmyk.shape == RGB8.shape and cmeta.format == "JPEG"
    assert np.abs(cmyk * 255.0 - RGB8).mean() < 20
    Image.fromarray(GRAY8 > 127).save(tmp_path / "bits.png")
    bits, _ = read_image(tmp_path / "bits.png")
    assert set(np.unique(bits)) <= {0.0, 1.0} and bits.shape == GRAY8.shape


def test_identical_channels_stay_colour(tmp_path):
    Image.fromarray(np.dstack([GRAY8] * 3)).save(tmp_path / "grayish.png")
    image, meta = read_image(tmp_path / "grayish.png")
    assert image.ndim == 3 and meta.color


def test_exif_orientation_is_applied(tmp_path):
    im = Image.fromarray(np.zeros((16, 48), np.uint8))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    im.save(tmp_path / "rot.jpg", exif=exif)
    image, _ = read_image(tmp_path / "rot.jpg")
    assert image.shape == (48, 16)


def test_npy_float_uint16_and_out_of_range_floats(tmp_path):
    floats = RNG.random((16, 20)).astype(np.float32)
    np.save(tmp_path / "f.npy", floats)
    image, meta = read_image(tmp_path / "f.npy")
    np.testing.assert_array_equal(image, floats)
    assert meta.format == "NPY" and meta.bit_depth == 32 and meta.value_range == (0.0, 1.0)
    np.save(tmp_path / "u16.npy", GRAY16)
    image, meta = read_image(tmp_path / "u16.npy")
    assert meta.bit_depth == 16
    np.testing.assert_allclose(image * 65535, GRAY16, atol=0.01)
    wide = np.linspace(-100, 300, 16 * 20).reshape(16, 20)
    np.save(tmp_path / "wide.npy", wide)
    image, meta = read_image(tmp_path / "wide.npy")
    assert meta.value_range == (-100.0, 300.0) and image.min() == 0.0 and image.max() == 1.0
    np.testing.assert_allclose(to_source_units(image, meta), wide, atol=1e-4)
    np.save(tmp_path / "rgba.npy", RNG.random((16, 18, 4)))
    image, meta = read_image(tmp_path / "rgba.npy")
    assert image.shape == (16, 18, 3) and meta.had_alpha


def test_bytes_input_works_like_a_path(tmp_path):
    Image.fromarray(GRAY16).save(tmp_path / "b.png")
    from_path, path_meta = read_image(tmp_path / "b.png")
    from_bytes, bytes_meta = read_image((tmp_path / "b.png").read_bytes(), name="b.png")
    np.testing.assert_array_equal(from_path, from_bytes)
    assert path_meta == bytes_meta
    with pytest.raises(InvalidImageError, match=r"^upload\.png: is empty"):
        read_image(b"", name="upload.png")


# --- DICOM ------------------------------------------------------------------------------------------

def make_dicom(path, pixels, *, photometric="MONOCHROME2", modality="CT", intercept=-1024.0, window=(40, 400),
               frames=None):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Modality, ds.PatientName = modality, "Phantom"
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if frames:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, intercept
    ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dicom_ct_values_are_hounsfield_units(tmp_path):
    stored = np.tile(np.arange(0, 2048, 32, dtype=np.uint16), (16, 1))  # HU -1024 .. 992
    path = make_dicom(tmp_path / "ct.dcm", stored)
    image, meta = read_image(path)
    _check(image, stored.shape)
    assert (meta.format, meta.modality, meta.units, meta.bit_depth) == ("DICOM", "CT", "HU", 16)
    assert meta.window == (40.0, 400.0) and meta.rescale == (1.0, -1024.0)
    assert meta.value_range == (-1024.0, 992.0)
    np.testing.assert_allclose(to_source_units(image, meta), stored - 1024.0, atol=1e-3)
    assert "HU" in " ".join(meta.notes)


def test_dicom_monochrome1_is_inverted_and_still_maps_to_source_units(tmp_path):
    stored = np.tile(np.arange(0, 1024, 16, dtype=np.uint16), (16, 1))
    path = make_dicom(tmp_path / "cr.dcm", stored, photometric="MONOCHROME1", modality="CR", intercept=0)
    image, meta = read_image(path)
    assert image[0, 0] == 1.0 and image[0, -1] == 0.0  # stored 0 is white in MONOCHROME1
    np.testing.assert_allclose(to_source_units(image, meta), stored, atol=1e-3)
    assert meta.units == "" and meta.modality == "CR"


def test_dicom_multiframe_takes_the_middle_frame_or_the_chosen_one(tmp_path):
    stack = np.stack([np.full((16, 16), 100 * i, np.uint16) for i in range(5)])
    stack[:, 0, 0] = 0
    path = make_dicom(tmp_path / "multi.dcm", stack, frames=5, intercept=0)
    image, meta = read_image(path)
    assert image.shape == (16, 16) and (meta.slices, meta.slice_index) == (5, 2)
    assert "slice 3 of 5" in meta.describe(image.shape)
    assert meta.value_range == (0.0, 400.0)  # the whole volume's range, not the frame's
    assert to_source_units(image, meta)[1, 1] == pytest.approx(200.0)
    last, last_meta = read_image(path, slice=4)
    assert last_meta.slice_index == 4 and last_meta.value_range == meta.value_range
    assert to_source_units(last, last_meta)[1, 1] == pytest.approx(400.0) and last[1, 1] == 1.0
    with pytest.raises(InvalidImageError) as caught:
        read_image(path, slice=5)
    assert str(caught.value) == f"{path}: slice 5 is out of range, the volume has 5 slices (0–4)"


def test_dicom_is_found_by_magic_without_a_suffix(tmp_path):
    stored = np.arange(256, dtype=np.uint16).reshape(16, 16)
    data = make_dicom(tmp_path / "ct.dcm", stored).read_bytes()
    image, meta = read_image(data, name="upload")
    assert meta.format == "DICOM" and image.shape == (16, 16)


# --- Bad input --------------------------------------------------------------------------------------

def huge_png_header(path, width=100_000, height=100_000):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    return path


def truncated_jpeg(path):
    Image.fromarray(RNG.integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(path, quality=90)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def dicom_without_pixels(path):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    dataset.Modality, dataset.PatientName = "CT", "Phantom"
    dataset.save_as(path, enforce_file_format=True)
    return path


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write(path, data):
    path.write_bytes(data)
    return path


BAD = {
    "missing": (lambda p: p / "does_not_exist.png", "not found"),
    "empty": (lambda p: write(p / "empty.png", b""), "is empty (0 bytes)"),
    "text": (lambda p: write(p / "notes.png", b"just some text\n"), "not an image"),
    "corrupt_png": (lambda p: write(p / "corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20), "corrupt"),
    "truncated_jpeg": (lambda p: truncated_jpeg(p / "truncated.jpg"), "truncated"),
    "bomb": (lambda p: huge_png_header(p / "bomb.png"), "too large"),
    "just_over_limit": (lambda p: huge_png_header(p / "big.png", 8000, 6300), "too large"),
    "dicom_no_pixels": (lambda p: dicom_without_pixels(p / "nopixels.dcm"), "no pixel data"),
    "text_as_dicom": (lambda p: write(p / "fake.dcm", b"hello" * 50), "not a DICOM"),
    "npy_3d": (lambda p: write(p / "cube.npy", npy_bytes(np.zeros((4, 4, 4, 4)))), "shape"),
    "npy_complex": (lambda p: write(p / "complex.npy", npy_bytes(np.zeros((4, 4), complex))), "dtype"),
    "npy_strings": (lambda p: write(p / "strings.npy", npy_bytes(np.array([["a", "b"], ["c", "d"]]))), "dtype"),
    "npy_truncated": (lambda p: write(p / "short.npy", npy_bytes(np.zeros((64, 64)))[:200]), "corrupt"),
    "npy_nan": (lambda p: write(p / "nan.npy", npy_bytes(np.full((4, 4), np.nan))), "NaN"),
    "folder": (lambda p: (p / "adir.png").mkdir() or p / "adir.png", "folder"),
    "one_pixel": (lambda p: Image.new("L", (1, 1)).save(p / "dot.png") or p / "dot.png", "too small"),
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_raises_one_line_starting_with_the_file_name(tmp_path, kind):
    make, words = BAD[kind]
    path = make(tmp_path)
    with pytest.raises(InvalidImageError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    assert words.lower() in message.lower(), message
    if path.is_file():  # the same bytes, uploaded, name the upload
        with pytest.raises(InvalidImageError) as caught:
            read_image(path.read_bytes(), name=path.name)
        assert str(caught.value).startswith(path.name) and "\n" not in str(caught.value)


def test_pixel_limit_is_configurable(tmp_path):
    Image.fromarray(GRAY8).save(tmp_path / "small.png")
    with pytest.raises(InvalidImageError, match="too large"):
        read_image(tmp_path / "small.png", max_pixels=100)


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_npy_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "PWNED"
    array = np.empty((2, 2), dtype=object)
    array[...] = _Marker(str(marker))
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    path = write(tmp_path / "evil.npy", buffer.getvalue())
    with pytest.raises(InvalidImageError, match="refused") as caught:
        read_image(path)
    assert str(caught.value).startswith(str(path))
    assert not marker.exists()
    with pytest.raises(InvalidImageError):  # a plain pickle renamed .npy is not unpickled either
        read_image(write(tmp_path / "plain.npy", pickle.dumps(_Marker(str(marker)))))
    assert not marker.exists()


# --- Writing ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix,bits", [(".png", 8), (".png", 16), (".tif", 8), (".tiff", 16), (".bmp", 8),
                                         (".webp", 8), (".npy", None)])
@pytest.mark.parametrize("colour", [False, True])
def test_save_then_read_round_trips(tmp_path, suffix, bits, colour):
    image = (RGB16 if colour else GRAY16).astype(np.float32) / 65535
    path = tmp_path / f"out{suffix}"
    save_image(path, image, bit_depth=bits)
    back, meta = read_image(path)
    if suffix == ".webp" and not colour:  # WebP has no gray mode: three equal channels come back
        back = back[..., 0]
    assert back.shape == image.shape
    tolerance = {8: 0.5 / 255, 16: 0.5 / 65535, None: 0.0}[bits] + 1e-7
    assert np.abs(back - image).max() <= tolerance
    assert meta.bit_depth == (bits or 32)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_a_known_value_survives_sixteen_bits(tmp_path):
    image = np.full((16, 16), 0.123456, np.float32)
    save_image(tmp_path / "v.png", image, bit_depth=16)
    assert abs(read_image(tmp_path / "v.png")[0][0, 0] - 0.123456) <= 1 / 65535


def test_jpeg_is_lossy_but_close(tmp_path):
    image = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
    save_image(tmp_path / "s.jpg", image)
    assert np.abs(read_image(tmp_path / "s.jpg")[0] - image).mean() < 0.01


def test_save_keeps_the_source_depth_from_meta(tmp_path):
    image = GRAY16.astype(np.float32) / 65535
    deep = ImageMeta("x.png", "PNG", 16, (0.0, 65535.0), False, None)
    save_image(tmp_path / "deep.png", image, meta=deep)
    assert np.asarray(Image.open(tmp_path / "deep.png")).dtype == np.uint16
    save_image(tmp_path / "plain.png", image)
    assert np.asarray(Image.open(tmp_path / "plain.png")).dtype == np.uint8
    save_image(tmp_path / "deep.jpg", image, meta=deep)  # JPEG cannot: falls back to 8 bits
    assert Image.open(tmp_path / "deep.jpg").mode == "L"


def test_save_refuses_unsupported_suffix_and_impossible_depth(tmp_path):
    image = np.zeros((4, 4), np.float32)
    with pytest.raises(InvalidParameterError, match=r"\.gif"):
        save_image(tmp_path / "x.gif", image)
    with pytest.raises(InvalidParameterError, match="no suffix"):
        save_image(tmp_path / "x", image)
    with pytest.raises(InvalidParameterError, match="JPEG"):
        save_image(tmp_path / "x.jpg", image, bit_depth=16)
    with pytest.raises(InvalidParameterError):
        encode_image(image, format="gif")
    with pytest.raises(DenoiseError, match="does not exist"):
        save_image(tmp_path / "nope" / "x.png", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    path.write_bytes(b"old contents")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(DenoiseError, match="disk full"):
        save_image(path, np.zeros((4, 4), np.float32))
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_encode_image_bytes_decode_back():
    image = RGB8.astype(np.float32) / 255
    for fmt, bits in [("png", 8), ("png", 16), ("tiff", 16), ("webp", 8), ("bmp", 8), ("npy", 8)]:
        data = encode_image(image, format=fmt, bit_depth=bits)
        back, _ = read_image(data, name=f"x.{fmt}")
        np.testing.assert_allclose(back, image, atol=1e-6, err_msg=fmt)


def test_to_display_clips_and_rounds():
    out = to_display(np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]], np.float32).repeat(2, 0))
    assert out.dtype == np.uint8 and out[0].tolist() == [0, 0, 128, 255, 255]


def test_describe_is_one_short_line():
    meta = ImageMeta("a.png", "PNG", 16, (0.0, 65535.0), False, None)
    assert meta.describe((512, 256)) == "PNG · 16-bit · gray · 256×512"


# --- Volumes: NIfTI and multi-frame DICOM ----------------------------------------------------------

# Stored axes -> patient: axis 0 runs right-to-left (x = -2 i), axis 1 runs up (z = 3 j), axis 2 runs
# to the front (y = 1.5 k). The closest canonical (RAS) array is therefore volume[::-1, k, j] for
# (R, A, S) = (reversed axis 0, axis 2, axis 1), and the axial slice s is volume[::-1, s, :].
AFFINE = np.array([[-2.0, 0, 0, 40], [0, 0, 1.5, -20], [0, 3.0, 0, -30], [0, 0, 0, 1]])
SLOPE, INTER = 0.5, -100.0
VOLUME = RNG.integers(-600, 1400, (20, 24, 16)).astype(np.int16)  # 24 axial slices of 20 × 16


def make_nifti(path, volume=VOLUME, affine=AFFINE, slope=SLOPE, inter=INTER):
    import nibabel
    image = nibabel.Nifti1Image(volume, affine)
    image.header.set_slope_inter(slope, inter)
    nibabel.save(image, path)
    return path


def expected_slice(s, volume=VOLUME):
    """Axial slice s in source units, anterior up: numpy only, from the affine worked out above."""
    return np.rot90(volume[::-1, s, :].astype(np.float64)) * SLOPE + INTER


def test_nifti_slice_is_axial_ras_anterior_up_in_source_units(tmp_path):
    path = make_nifti(tmp_path / "brain.nii.gz")
    image, meta = read_image(path)
    assert image.shape == (16, 20) and image.dtype == np.float32
    assert (meta.format, meta.bit_depth, meta.color, meta.units, meta.modality) == ("NIfTI", 16, False, "", None)
    assert (meta.slices, meta.slice_index) == (24, 12)  # the middle slice by default
    assert meta.value_range == (VOLUME.min() * SLOPE + INTER, VOLUME.max() * SLOPE + INTER)
    assert meta.rescale == (SLOPE, INTER) and "slice 13 of 24" in meta.describe(image.shape)
    for s in (0, 7, 23):
        image, meta = read_image(path, slice=s)
        assert meta.slice_index == s and meta.value_range == (VOLUME.min() * SLOPE + INTER,
                                                               VOLUME.max() * SLOPE + INTER)
        np.testing.assert_allclose(to_source_units(image, meta), expected_slice(s), atol=1e-3)


def test_nifti_orientation_puts_anterior_at_the_top_and_patient_left_at_the_left(tmp_path):
    volume = np.zeros((20, 24, 16), np.int16)
    volume[:, :, -1] = 100  # the most anterior plane (axis 2 runs to the front)
    volume[0, :, :] += 7    # the most right-hand plane (axis 0 runs right to left)
    image, meta = read_image(make_nifti(tmp_path / "marks.nii", volume, slope=1.0, inter=0.0), slice=3)
    values = np.round(to_source_units(image, meta), 3)
    assert np.all(values[0] >= 100) and np.all(values[1:] < 100)  # anterior is the top row
    assert np.all(values[1:, -1] == 7) and np.all(values[1:, :-1] == 0)  # patient's right is at the right


def test_nifti_four_d_reads_the_first_volume_and_says_so(tmp_path):
    series = np.stack([VOLUME, VOLUME + 1000, VOLUME - 1000], axis=-1)
    path = make_nifti(tmp_path / "fmri.nii.gz", series)
    image, meta = read_image(path, slice=5)
    assert meta.note == "volume 1 of 3" and meta.slices == 24 and "volume 1 of 3" in meta.notes
    assert meta.value_range == (VOLUME.min() * SLOPE + INTER, VOLUME.max() * SLOPE + INTER)
    np.testing.assert_allclose(to_source_units(image, meta), expected_slice(5), atol=1e-3)


def test_nifti_from_bytes_by_name_or_by_magic(tmp_path):
    data = make_nifti(tmp_path / "brain.nii.gz").read_bytes()
    from_path, path_meta = read_image(tmp_path / "brain.nii.gz", slice=2)
    for name in ("brain.nii.gz", "upload"):  # a name that says NIfTI, and one that does not (gzip + magic)
        image, meta = read_image(data, name=name, slice=2)
        np.testing.assert_array_equal(image, from_path)
        assert meta.format == "NIfTI" and meta.value_range == path_meta.value_range
    plain = make_nifti(tmp_path / "brain.nii").read_bytes()
    image, meta = read_image(plain, name="scan", slice=2)
    np.testing.assert_array_equal(image, from_path)


def test_nifti_bad_slice_truncation_and_size_are_one_line(tmp_path, monkeypatch):
    path = make_nifti(tmp_path / "brain.nii.gz")
    with pytest.raises(InvalidImageError) as caught:
        read_image(path, slice=40)
    assert str(caught.value) == f"{path}: slice 40 is out of range, the volume has 24 slices (0–23)"
    with pytest.raises(InvalidImageError, match="slice -1 is out of range"):
        read_image(path, slice=-1)
    with pytest.raises(InvalidParameterError, match="whole number"):
        read_image(path, slice=2.5)
    data = path.read_bytes()
    for cut in (len(data) // 2, 200, 40):  # inside the voxels, inside the header, inside the gzip header
        short = write(tmp_path / "short.nii.gz", data[:cut])
        with pytest.raises(InvalidImageError) as caught:
            read_image(short)
        message = str(caught.value)
        assert message.startswith(str(short)) and "cannot be decoded" in message and "\n" not in message, message
    raw = make_nifti(tmp_path / "raw.nii").read_bytes()
    with pytest.raises(InvalidImageError, match=r"^cut\.nii: cannot be decoded, the file is truncated"):
        read_image(raw[:-100], name="cut.nii")
    with pytest.raises(InvalidImageError, match="not a NIfTI"):
        read_image(write(tmp_path / "notes.nii", b"x" * 600))
    with pytest.raises(InvalidImageError, match="too large"):
        read_image(path, max_pixels=100)
    from denoise_core.image import limits
    monkeypatch.setattr(limits, "MAX_DECODED_BYTES", 5000)
    with pytest.raises(InvalidImageError) as caught:
        read_image(path)
    assert str(caught.value) == (f"{path}: volume is too large to decode (20×24×16 samples of 2 bytes need "
                                 "15,360 bytes decoded, the limit is 5,000 bytes); save fewer slices first")


def test_a_plain_image_has_one_slice_and_ignores_the_choice(tmp_path):
    Image.fromarray(GRAY8).save(tmp_path / "flat.png")
    image, meta = read_image(tmp_path / "flat.png", slice=3)
    assert (meta.slices, meta.slice_index) == (1, 0) and "slice" not in meta.describe(image.shape)
    np.testing.assert_array_equal(to_display(image), GRAY8)


# --- Real DICOM files from pydicom-data: compressed, multi-frame, round trips -----------------------

def data_store_file(name):
    from pathlib import Path

    import data_store
    return Path(data_store.__file__).parent / "data" / name


def test_multiframe_dicom_slice_equals_pydicoms_frame(monkeypatch):
    import pydicom
    path = data_store_file("emri_small.dcm")
    frames = pydicom.dcmread(path).pixel_array
    image, meta = read_image(path, slice=3)
    assert frames.shape[0] == meta.slices == 10 and meta.slice_index == 3
    assert meta.value_range == (float(frames.min()), float(frames.max()))
    np.testing.assert_allclose(to_source_units(image, meta), frames[3], atol=1e-3)
    from denoise_core.image import limits
    monkeypatch.setattr(limits, "MAX_DECODED_BYTES", 10 * 64 * 64 * 2 - 1)
    with pytest.raises(InvalidImageError, match=r"volume is too large to decode \(10×64×64 samples of 2 bytes"):
        read_image(path)


def test_jpeg2000_ct_decodes_in_hounsfield_units():
    import pydicom
    path = data_store_file("explicit_VR-UN.dcm")
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID.name.startswith("JPEG 2000")
    image, meta = read_image(path)
    hu = to_source_units(image, meta)
    assert image.shape == (512, 512) and meta.units == "HU" and meta.modality == "CT"
    assert -1100 <= hu.min() < -900 and 200 < hu.max() < 3100  # air, then soft tissue up to bone
    assert np.mean((hu > -200) & (hu < 200)) > 0.1  # a real slice: plenty of soft tissue


@pytest.mark.parametrize("compressed,reference", [("SC_rgb_jpeg_gdcm.dcm", "SC_rgb.dcm"),  # JPEG lossless
                                                   ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm")])  # JPEG-LS
def test_lossless_jpeg_dicoms_decode_to_the_uncompressed_pixels(compressed, reference):
    from pydicom.data import get_testdata_file
    paths = [get_testdata_file(name) for name in (compressed, reference)]
    if None in paths:
        pytest.skip(f"pydicom test file {compressed} or {reference} is absent")
    (image, meta), (expected, expected_meta) = (read_image(path) for path in paths)
    np.testing.assert_allclose(to_source_units(image, meta), to_source_units(expected, expected_meta), atol=1e-3)


@pytest.fixture(scope="module")
def ct_denoised():
    """693_UNCR.dcm (512×512 CT, 14-bit signed, RescaleIntercept −1024) and a Gaussian-filtered copy."""
    from denoise_core import denoise
    image, meta = read_image(data_store_file("693_UNCR.dcm"))
    assert meta.rescale == (1.0, -1024.0) and meta.units == "HU"
    result = denoise(image, "gaussian")
    assert np.abs(result - image).max() > 0.05  # a real change
    return image, meta, result


def test_ct_round_trips_through_dicom_with_hounsfield_units(tmp_path, ct_denoised):
    import pydicom
    from pydicom.pixels import apply_modality_lut
    _, meta, result = ct_denoised
    save_image(tmp_path / "out.dcm", result, meta=meta)
    written, source = pydicom.dcmread(tmp_path / "out.dcm"), pydicom.dcmread(data_store_file("693_UNCR.dcm"))
    expected = to_source_units(result, meta)
    # The file's own HU (pydicom's modality rescale) are the rounded denoised HU: within 0.5 HU.
    assert np.abs(apply_modality_lut(written.pixel_array, written) - expected).max() <= 0.5
    assert written.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert (written.BitsStored, written.PixelRepresentation) == (source.BitsStored, source.PixelRepresentation)
    assert written.SOPInstanceUID != source.SOPInstanceUID and written.SeriesInstanceUID != source.SeriesInstanceUID
    assert written.StudyInstanceUID == source.StudyInstanceUID and written.PatientID == source.PatientID
    assert list(written.ImageType)[:2] == ["DERIVED", "SECONDARY"] and "Denoise Workbench" in written.DerivationDescription
    assert written.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    back, back_meta = read_image(tmp_path / "out.dcm")
    # read_image returns float32 in [0, 1]: its resolution over this 4400 HU range adds < 0.001 HU.
    assert np.abs(to_source_units(back, back_meta) - expected).max() <= 0.5 + 1e-3
    assert (back_meta.modality, back_meta.units, back_meta.window) == ("CT", "HU", meta.window)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_ct_round_trips_through_sixteen_bit_tiff_with_hounsfield_units(tmp_path, ct_denoised):
    import tifffile
    _, meta, result = ct_denoised
    save_image(tmp_path / "out.tif", result, meta=meta)
    stored = tifffile.imread(tmp_path / "out.tif")
    expected = to_source_units(result, meta)
    assert stored.dtype == np.int16 and np.abs(stored - expected).max() <= 0.5
    back, back_meta = read_image(tmp_path / "out.tif")
    assert np.abs(to_source_units(back, back_meta) - expected).max() <= 0.5 + 1e-3
    assert (back_meta.format, back_meta.units, back_meta.modality, back_meta.window) == ("TIFF", "HU", "CT", meta.window)
    assert back_meta.value_range == meta.value_range and back_meta.bit_depth == meta.bit_depth
    # The same mapping comes back, so the [0, 1] images agree to the rounding of the stored HU.
    assert np.abs(back - np.clip(result, 0, 1)).max() <= 0.5 / (meta.value_range[1] - meta.value_range[0]) + 1e-6


def test_monochrome1_xray_round_trips_through_dicom(tmp_path):
    import pydicom
    image, meta = read_image("sample_images/xray_tibia.dcm")
    save_image(tmp_path / "xray.dcm", image, meta=meta)
    back, back_meta = read_image(tmp_path / "xray.dcm")
    level = 1 / abs(meta.value_range[1] - meta.value_range[0])  # one stored level in [0, 1] units
    assert np.abs(back - image).max() <= level
    assert pydicom.dcmread(tmp_path / "xray.dcm").PhotometricInterpretation == "MONOCHROME1"
    assert back_meta.value_range == meta.value_range and back_meta.window == meta.window
    signal, background = next(s.roi for s in __import__("denoise_core.samples").samples.samples() if s.name == "xray")
    mean = lambda img, box: img[box[0]:box[0] + box[2], box[1]:box[1] + box[3]].mean()  # noqa: E731
    assert mean(back, signal) > mean(back, background) + 0.2  # bone stays brighter than the open field


def test_multiframe_dicom_slice_is_written_as_one_frame(tmp_path):
    import pydicom
    image, meta = read_image(data_store_file("emri_small.dcm"), slice=3)
    save_image(tmp_path / "frame.dcm", image, meta=meta)
    written = pydicom.dcmread(tmp_path / "frame.dcm")
    assert int(written.get("NumberOfFrames", 1)) == 1 and written.pixel_array.shape == (64, 64)
    frames = pydicom.dcmread(data_store_file("emri_small.dcm")).pixel_array
    np.testing.assert_array_equal(written.pixel_array, frames[3])
    back, back_meta = read_image(tmp_path / "frame.dcm")
    assert back_meta.slices == 1 and back_meta.modality == "MR"


def test_a_resized_dicom_gets_its_pixel_spacing_scaled(tmp_path):
    import pydicom
    image, meta = read_image("sample_images/ct_small.dcm")
    spacing = [float(v) for v in pydicom.dcmread("sample_images/ct_small.dcm").PixelSpacing]
    save_image(tmp_path / "x2.dcm", np.kron(image, np.ones((2, 2), np.float32)), meta=meta)
    written = pydicom.dcmread(tmp_path / "x2.dcm")
    assert (written.Rows, written.Columns) == (256, 256)
    np.testing.assert_allclose([float(v) for v in written.PixelSpacing], np.array(spacing) / 2, rtol=1e-6)


def test_images_without_a_dicom_source_become_secondary_captures(tmp_path):
    import pydicom
    from pydicom.uid import SecondaryCaptureImageStorage
    gray = GRAY16.astype(np.float32) / 65535
    save_image(tmp_path / "g.dcm", gray, meta=ImageMeta("g.png", "PNG", 16, (0.0, 65535.0), False, None))
    written = pydicom.dcmread(tmp_path / "g.dcm")
    assert written.SOPClassUID == SecondaryCaptureImageStorage and written.Modality == "OT"
    assert (written.PhotometricInterpretation, written.BitsAllocated) == ("MONOCHROME2", 16)
    np.testing.assert_array_equal(written.pixel_array, GRAY16)
    save_image(tmp_path / "c.dcm", RGB8.astype(np.float32) / 255, meta=None)
    colour = pydicom.dcmread(tmp_path / "c.dcm")
    assert (colour.PhotometricInterpretation, colour.BitsAllocated, colour.SamplesPerPixel) == ("RGB", 8, 3)
    np.testing.assert_array_equal(colour.pixel_array, RGB8)
    assert list(colour.ImageType)[:2] == ["DERIVED", "SECONDARY"]


def test_nifti_slice_keeps_its_units_through_dicom_and_tiff(tmp_path):
    image, meta = read_image(make_nifti(tmp_path / "brain.nii.gz"), slice=9)  # slope 0.5: not whole numbers
    expected = to_source_units(image, meta)
    save_image(tmp_path / "s.dcm", image, meta=meta)
    back, back_meta = read_image(tmp_path / "s.dcm")
    span = meta.value_range[1] - meta.value_range[0]
    assert np.abs(to_source_units(back, back_meta) - expected).max() <= span / 65535
    save_image(tmp_path / "s.tif", image, meta=meta)
    back, back_meta = read_image(tmp_path / "s.tif")
    assert back_meta.value_range == meta.value_range and back_meta.rescale == meta.rescale
    assert np.abs(back - image).max() <= 0.5 / 65535 + 1e-7
    whole = make_nifti(tmp_path / "whole.nii", slope=1.0, inter=-1024.0)  # whole numbers within int16
    image, meta = read_image(whole, slice=9)
    save_image(tmp_path / "w.tif", image, meta=meta)
    import tifffile
    assert tifffile.imread(tmp_path / "w.tif").dtype == np.int16
    np.testing.assert_allclose(to_source_units(*read_image(tmp_path / "w.tif")), to_source_units(image, meta),
                               atol=1e-3)


def test_plain_tiff_is_written_as_before(tmp_path):
    import tifffile
    image = GRAY16.astype(np.float32) / 65535
    save_image(tmp_path / "p.tif", image, meta=ImageMeta("p.png", "PNG", 16, (0.0, 65535.0), False, None))
    with tifffile.TiffFile(tmp_path / "p.tif") as tif:
        assert tif.pages[0].dtype == np.uint16 and "denoise_workbench" not in (tif.pages[0].description or "")
    assert encode_image(image, format="tiff", bit_depth=16) == (tmp_path / "p.tif").read_bytes()


def test_meta_with_a_dicom_header_stays_hashable_picklable_and_quiet():
    _, meta = read_image(data_store_file("693_UNCR.dcm"))
    assert isinstance(meta.dicom_header, bytes) and 0 < len(meta.dicom_header) < 64 * 1024
    assert pickle.loads(pickle.dumps(meta)) == meta and hash(meta) == hash(pickle.loads(pickle.dumps(meta)))
    assert "dicom_header" not in repr(meta) and "CQ500" not in meta.describe() + " ".join(meta.notes)
