"""Whole volumes: denoised slice by slice into NIfTI, a DICOM series or a 16-bit TIFF stack, with progress and
cancel; measured per slice and whole; every refusal one line, exit code 2."""
import json

import nibabel
import numpy as np
import pydicom
import pytest
import tifffile

from denoise_core import denoise, samples
from denoise_core.cli import main
from denoise_core.image import read_image, to_source_units, volume_slices, write_volume
from denoise_core.image import volume as image_volume
from denoise_core.image.nifti import NiftiVolume
from denoise_core.metrics import measure
from denoise_core.volume import denoise_volume

SAMPLE = samples.sample_path("mri_volume")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def small_nifti(path, affine=np.eye(4), shape=(40, 36, 6), slope=None, inter=None):
    """An int16 volume, each plane along stored axis 2 a different level with noise; returns (path, volume)."""
    rng = np.random.default_rng(1)
    volume = (rng.normal(300, 40, shape) + 100 * np.arange(shape[2])).astype(np.int16)
    image = nibabel.Nifti1Image(volume, affine)
    if slope is not None:
        image.header.set_slope_inter(slope, inter)
    nibabel.save(image, path)
    return path, volume


def multiframe_dicom(path, frames=5, side=32):
    """A 5-frame CT (HU = stored - 1024) whose per-frame groups give each frame's position 2.5 mm apart."""
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import EnhancedCTImageStorage, ExplicitVRLittleEndian, generate_uid
    rng = np.random.default_rng(2)
    stack = rng.normal(1000, 60, (frames, side, side)) + 150 * np.arange(frames)[:, None, None]
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = EnhancedCTImageStorage, generate_uid()
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = "CT", "Phantom", "P1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Rows = ds.Columns = side
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    positions = []
    for index in range(frames):
        plane = Dataset()
        plane.ImagePositionPatient = [-40.0, -40.0, 2.5 * index]
        group = Dataset()
        group.PlanePositionSequence = Sequence([plane])
        positions.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(positions)
    ds.PixelData = np.clip(stack, 0, 4095).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path, ds


def test_the_nifti_sample_denoised_whole_keeps_affine_shape_type_and_every_slice(tmp_path, capsys):
    out = tmp_path / "brain_median.nii.gz"
    code, _, err = run_cli(capsys, "denoise", SAMPLE, out, "--method", "median", "--volume")
    assert code == 0, err
    assert f'median {{"size": 3}} on 94 slices in ' in err and err.rstrip().endswith(f"-> {out}")
    source, written = nibabel.load(SAMPLE), nibabel.load(out)
    assert written.shape == source.shape == (98, 116, 94)
    assert written.get_data_dtype() == source.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(written.affine, source.affine)
    data = np.asanyarray(written.dataobj)
    for index in range(94):
        image, meta = read_image(SAMPLE, slice=index)
        expected = to_source_units(denoise(image, "median"), meta)  # RAS axes: slice i is rot90(data[:, :, i])
        assert np.abs(np.rot90(data[:, :, index]) - expected).max() <= 0.5 + 1e-6, index
    assert np.abs(np.rot90(data[:, :, 40]).astype(float) - np.rot90(source.get_fdata()[:, :, 40])).mean() > 0.5


def test_nifti_slices_go_back_to_the_stored_axes_order_and_scaling(tmp_path):
    """Stored axis 0 runs right-to-left, axis 1 downwards (the axial slices cut it, last first): written back
    unchanged, every stored value, the affine and scl_slope/scl_inter come out as they went in."""
    affine = np.array([[-2.0, 0, 0, 40], [0, 0, 1.5, -20], [0, -3.0, 0, 30], [0, 0, 0, 1]])
    source, volume = small_nifti(tmp_path / "odd.nii.gz", affine, (20, 24, 16), slope=0.5, inter=-100.0)
    meta, slices = volume_slices(source.read_bytes(), name="odd.nii.gz")
    assert meta.slices == 24  # stored axis 1
    write_volume(tmp_path / "back.nii", meta, slices)
    back = nibabel.load(tmp_path / "back.nii")
    np.testing.assert_array_equal(back.dataobj.get_unscaled(), volume)
    assert (back.dataobj.slope, back.dataobj.inter) == (0.5, -100.0)
    np.testing.assert_array_equal(back.affine, affine)
    held = NiftiVolume(meta, "odd.nii.gz").data
    assert held.dtype == np.int16 and held.nbytes == volume.nbytes  # the source's data type, not float32


def test_a_multiframe_dicom_becomes_a_series_with_one_new_series_uid(tmp_path, capsys):
    source, ds = multiframe_dicom(tmp_path / "ct.dcm")
    out = tmp_path / "series"
    code, _, err = run_cli(capsys, "denoise", source, out, "--method", "median", "--volume")
    assert code == 0, err
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["0001.dcm", "0002.dcm", "0003.dcm", "0004.dcm", "0005.dcm"]
    written = [pydicom.dcmread(f) for f in files]
    assert len({w.SeriesInstanceUID for w in written}) == 1 and written[0].SeriesInstanceUID != ds.SeriesInstanceUID
    assert len({w.SOPInstanceUID for w in written}) == 5 and ds.SOPInstanceUID not in {w.SOPInstanceUID for w in written}
    assert [w.InstanceNumber for w in written] == [1, 2, 3, 4, 5]
    assert {w.StudyInstanceUID for w in written} == {ds.StudyInstanceUID} and written[0].PatientName == "Phantom"
    for index, w in enumerate(written):
        assert list(w.ImageType[:2]) == ["DERIVED", "SECONDARY"]
        position = w.PerFrameFunctionalGroupsSequence[0].PlanePositionSequence[0].ImagePositionPatient
        assert [float(v) for v in position] == [-40.0, -40.0, 2.5 * index]
        image, meta = read_image(source, slice=index)
        hu = to_source_units(denoise(image, "median"), meta)
        assert np.abs(w.pixel_array.astype(float) - 1024 - hu).max() <= 0.5 + 1e-6


def test_a_nifti_becomes_a_series_of_secondary_captures_in_one_study(tmp_path):
    source, _ = small_nifti(tmp_path / "scan.nii.gz")
    result = denoise_volume(source, tmp_path / "series", "median")
    written = [pydicom.dcmread(f) for f in sorted((tmp_path / "series").iterdir())]
    assert result.path == tmp_path / "series" and len(result.params) == result.slices == len(written) == 6
    assert len({w.StudyInstanceUID for w in written}) == len({w.SeriesInstanceUID for w in written}) == 1
    assert [w.InstanceNumber for w in written] == list(range(1, 7))


def test_a_tiff_stack_has_one_16_bit_page_per_slice_in_source_units(tmp_path, capsys):
    source, _ = multiframe_dicom(tmp_path / "ct.dcm")
    code, _, err = run_cli(capsys, "denoise", source, tmp_path / "ct.tif", "--method", "median", "--volume")
    assert code == 0, err
    with tifffile.TiffFile(tmp_path / "ct.tif") as tif:
        pages = [page.asarray() for page in tif.pages]
        assert '"units": "HU"' in tif.pages[0].description
    assert len(pages) == 5 and all(page.dtype == np.int16 and page.shape == (32, 32) for page in pages)
    for index, page in enumerate(pages):
        image, meta = read_image(source, slice=index)
        assert np.abs(page - to_source_units(denoise(image, "median"), meta)).max() <= 0.5 + 1e-6


@pytest.mark.parametrize("name", ["out.nii.gz", "out.tif", "series"])
def test_a_cancel_or_an_interruption_leaves_nothing_at_out(tmp_path, name):
    source, _ = small_nifti(tmp_path / "scan.nii.gz")
    calls = []
    result = denoise_volume(source, tmp_path / name, "median", progress=lambda *done: calls.append(done),
                            cancel=lambda: len(calls) >= 2)
    assert result.path is None and len(result.params) == 2 and result.slices == 6
    assert calls == [(1, 6), (2, 6)]
    assert [p.name for p in tmp_path.iterdir()] == ["scan.nii.gz"]  # no output, no temporary left

    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        denoise_volume(source, tmp_path / name, "median", progress=stop)
    assert [p.name for p in tmp_path.iterdir()] == ["scan.nii.gz"]


def test_the_writer_asks_read_image_for_one_slice_at_a_time(tmp_path, capsys, monkeypatch):
    asked, read = [], image_volume.read_image

    def counting(source, **options):
        asked.append(options.get("slice"))
        return read(source, **options)
    monkeypatch.setattr(image_volume, "read_image", counting)
    code, _, err = run_cli(capsys, "denoise", SAMPLE, tmp_path / "brain.tif", "--method", "median", "--volume")
    assert code == 0, err
    assert asked == list(range(94))  # each slice once, never the whole volume (slice=None)


@pytest.mark.parametrize("case", ["png", "slice", "nifti_from_dicom", "suffix", "full_folder", "method"])
def test_every_refusal_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, case):
    volume, _ = multiframe_dicom(tmp_path / "ct.dcm")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("kept")
    source, out, extra, words = {
        "png": (samples.sample_path("camera"), tmp_path / "o.tif", [], "camera.png: is not a volume"),
        "slice": (volume, tmp_path / "o.tif", ["--slice", "2"], "argument --slice: not allowed with argument --volume"),
        "nifti_from_dicom": (volume, tmp_path / "o.nii", [], "a NIfTI volume is written from a NIfTI source"),
        "suffix": (volume, tmp_path / "o.png", [], "unsupported volume output '.png'"),
        "full_folder": (volume, tmp_path / "full", [], "full: already exists"),
        "method": (volume, tmp_path / "o.tif", [], "nope"),
    }[case]
    method = "nope" if case == "method" else "median"
    code, _, err = run_cli(capsys, "denoise", source, out, "--method", method, "--volume", *extra)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct.dcm", "full"]
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["mine.txt"]


def test_metrics_per_slice_and_for_the_volume(tmp_path, capsys):
    clean, _ = small_nifti(tmp_path / "clean.nii.gz")
    denoise_volume(clean, tmp_path / "median.nii.gz", "median", {"size": 5})
    code, out, err = run_cli(capsys, "metrics", clean, tmp_path / "median.nii.gz", "--volume", "--json")
    assert code == 0, err
    values = json.loads(out)
    assert [row["slice"] for row in values["slices"]] == list(range(6))
    squared = []
    for row in values["slices"]:
        (reference, _), (image, _) = (read_image(p, slice=row["slice"]) for p in (clean, tmp_path / "median.nii.gz"))
        expected = measure(reference, image, ["psnr", "ssim", "mse"])
        assert row["psnr"] == pytest.approx(expected["psnr"]) and row["ssim"] == pytest.approx(expected["ssim"])
        squared.append(expected["mse"])
    assert values["volume"]["psnr"] == pytest.approx(10 * np.log10(1 / np.mean(squared)))  # equal slices
    assert values["volume"]["ssim"] == pytest.approx(np.mean([row["ssim"] for row in values["slices"]]))
    assert 15 < values["volume"]["psnr"] < 60

    code, out, _ = run_cli(capsys, "metrics", clean, clean, "--volume")
    assert out.splitlines()[-1].split() == ["volume", "100.00", "1.0000"] and len(out.splitlines()) == 8
    multiframe_dicom(tmp_path / "ct.dcm")
    code, _, err = run_cli(capsys, "metrics", clean, tmp_path / "ct.dcm", "--volume")
    assert code == 2 and err.count("\n") == 1 and "has 5 slices, the reference 6" in err, err


def test_synthetic_noise_on_every_slice_is_scored_per_slice_and_for_the_volume(tmp_path):
    from denoise_core import add_noise, measure
    from denoise_core.volume import denoise_volume
    source = samples.sample_path("mri_volume")
    result = denoise_volume(source, tmp_path / "out.tif", "median", noise=("gaussian", {"sigma": 0.1}, 3))
    assert [row["slice"] for row in result.scores] == list(range(result.slices))
    clean, _ = read_image(source, slice=20)
    noisy = add_noise(clean, "gaussian", {"sigma": 0.1}, seed=23)  # seed + the slice's index
    row = result.scores[20]
    assert row["noisy_psnr"] == pytest.approx(measure(clean, noisy)["psnr"], abs=1e-6)
    assert row["psnr"] == pytest.approx(measure(clean, denoise(noisy, "median"))["psnr"], abs=1e-6)
    assert np.mean([r["psnr"] - r["noisy_psnr"] for r in result.scores]) > 3  # the median gains dB on σ 0.1
    mean_mse = np.mean([r["mse"] for r in result.scores])
    assert result.volume_psnr == pytest.approx(10 * np.log10(1 / mean_mse))
