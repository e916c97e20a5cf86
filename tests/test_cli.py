"""The command line: its commands work on real files and every bad input is one line, exit code 2."""
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from denoise_core.cli import main
from denoise_core.image import read_image

SET12 = "../shared/data/set12"


@pytest.fixture
def clean_png(tmp_path):
    y, x = np.mgrid[:64, :64]
    image = (0.5 + 0.4 * np.sin(x / 6.0) * np.cos(y / 9.0)) * 255
    path = tmp_path / "clean.png"
    Image.fromarray(image.astype(np.uint8)).save(path)
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def huge_png_header(path, width=100_000, height=100_000):
    """A PNG whose header claims a decompression-bomb size (its pixel data is absent)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
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


def write(path, data):
    path.write_bytes(data)
    return path


BAD_INPUTS = {
    "empty": lambda p: write(p / "empty.png", b""),
    "not_an_image": lambda p: write(p / "notes.png", b"just some text\n"),
    "corrupt": lambda p: write(p / "corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20),
    "truncated": lambda p: truncated_jpeg(p / "truncated.jpg"),
    "over_pixel_limit": lambda p: huge_png_header(p / "bomb.png"),
    "dicom_without_pixels": lambda p: dicom_without_pixels(p / "nopixels.dcm"),
    "missing": lambda p: p / "does_not_exist.png",
}


def truncated_jpeg(path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("command", ["denoise", "noise", "metrics"])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, clean_png, kind, command):
    bad = BAD_INPUTS[kind](tmp_path)
    argv = {"denoise": ["denoise", bad, tmp_path / "out.png", "--method", "median"],
            "noise": ["noise", bad, tmp_path / "out.png", "--model", "gaussian"],
            "metrics": ["metrics", clean_png, bad]}[command]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and bad.name in err, err
    assert "Traceback" not in err and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("argv", [["denoise", "a.png", "b.png"], ["frobnicate"], [],
                                  ["denoise", "{clean}", "{out}", "--method", "nope"],
                                  ["denoise", "{clean}", "{out}", "--method", "median", "--set", "size=4"],
                                  ["denoise", "{clean}", "{out}", "--method", "median", "--set", "bogus=1"],
                                  ["noise", "{clean}", "{out}", "--model", "gaussian", "--set", "sigma"]])
def test_bad_arguments_are_one_line_exit_2(tmp_path, capsys, clean_png, argv):
    argv = [a.format(clean=clean_png, out=tmp_path / "out.png") for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err


def test_noise_denoise_metrics_round_trip(tmp_path, capsys, clean_png):
    noisy, restored = tmp_path / "noisy.png", tmp_path / "restored.png"
    assert run_cli(capsys, "noise", clean_png, noisy, "--model", "salt_pepper", "--set", "amount=0.1",
                   "--seed", 3)[0] == 0
    assert run_cli(capsys, "denoise", noisy, restored, "--method", "median", "--set", "size=3")[0] == 0
    _, before, _ = run_cli(capsys, "metrics", clean_png, noisy, "--json")
    _, after, _ = run_cli(capsys, "metrics", clean_png, restored, "--json")
    before, after = json.loads(before), json.loads(after)
    assert set(before) >= {"psnr", "ssim", "mse", "mae"}
    assert after["psnr"] > before["psnr"] + 10, (before, after)
    # Same seed, same noise: the CLI is reproducible.
    again = tmp_path / "again.png"
    run_cli(capsys, "noise", clean_png, again, "--model", "salt_pepper", "--set", "amount=0.1", "--seed", 3)
    np.testing.assert_array_equal(read_image(noisy)[0], read_image(again)[0])


def test_sixteen_bit_input_stays_sixteen_bit(tmp_path, capsys):
    source = tmp_path / "deep.png"
    ramp = np.tile(np.linspace(0, 65535, 96).astype(np.uint16), (64, 1))
    Image.fromarray(ramp).save(source)
    out = tmp_path / "smooth.png"
    assert run_cli(capsys, "denoise", source, out, "--method", "gaussian")[0] == 0
    assert np.asarray(Image.open(out)).dtype == np.uint16


def test_list_json_covers_every_kind(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    entries = json.loads(out)
    assert code == 0 and {e["kind"] for e in entries} >= {"denoiser", "noise", "metric"}
    median = next(e for e in entries if e["kind"] == "denoiser" and e["name"] == "median")
    assert median["params"][0]["name"] == "size" and median["auto"]
    code, out, _ = run_cli(capsys, "list", "--kind", "noise", "--json")
    assert {e["kind"] for e in json.loads(out)} == {"noise"}


def test_eval_follows_the_protocol(tmp_path, capsys):
    data = tmp_path / "set"
    data.mkdir()
    rng = np.random.default_rng(5)
    for name in ("b.png", "a.png"):
        y, x = np.mgrid[:48, :48]
        Image.fromarray((127 + 100 * np.sin((x + rng.integers(9)) / 5.0)).astype(np.uint8)).save(data / name)
    code, out, _ = run_cli(capsys, "eval", "--method", "gaussian", "--data", data, "--noise", "gaussian",
                           "--sigma", 25, "--json")
    result = json.loads(out)
    assert code == 0 and result["images"] == 2
    assert [r["image"] for r in result["rows"]] == ["a.png", "b.png"] and [r["seed"] for r in result["rows"]] == [0, 1]
    # Seed 0 on the first file, unclipped noise: recompute the first row's noisy PSNR by hand.
    clean = read_image(data / "a.png")[0]
    noisy = clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape)
    assert result["rows"][0]["psnr"] > 10 * np.log10(1 / np.mean((np.clip(noisy, 0, 1) - clean) ** 2))
    assert result["psnr"] == pytest.approx(np.mean([r["psnr"] for r in result["rows"]]))


@pytest.mark.skipif(not __import__("pathlib").Path(SET12).is_dir(), reason="../shared/data/set12 is absent")
def test_eval_on_set12_median_is_sane(capsys):
    code, out, _ = run_cli(capsys, "eval", "--method", "median", "--data", SET12, "--sigma", 25, "--limit", 2, "--json")
    result = json.loads(out)
    assert code == 0 and result["images"] == 2 and 24.0 < result["psnr"] < 30.0


def test_module_entry_point_exit_code(tmp_path):
    done = subprocess.run([sys.executable, "-m", "denoise_core", "denoise", str(tmp_path / "nope.png"),
                           str(tmp_path / "o.png"), "--method", "median"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nope.png" in done.stderr


@pytest.fixture
def volume_nii(tmp_path):
    """A 40×36×6 int16 NIfTI volume with identity affine: slice s is np.rot90(volume[:, :, s])."""
    import nibabel
    rng = np.random.default_rng(1)
    volume = (rng.normal(300, 40, (40, 36, 6)) + 100 * np.arange(6)).astype(np.int16)
    path = tmp_path / "scan.nii.gz"
    nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), path)
    return path, volume


def test_denoise_a_nifti_slice_into_dicom(tmp_path, capsys, volume_nii):
    import pydicom
    source, volume = volume_nii
    out = tmp_path / "slice2.dcm"
    code, _, err = run_cli(capsys, "denoise", source, out, "--method", "median", "--slice", 2)
    assert code == 0, err
    written = pydicom.dcmread(out)
    assert written.Modality == "OT" and written.Rows == 36 and written.Columns == 40
    image, meta = read_image(out)
    from denoise_core.image import to_source_units
    plane = np.rot90(volume[:, :, 2]).astype(np.float64)
    assert abs(np.median(to_source_units(image, meta)) - np.median(plane)) < 20  # slice 2 (~500), not 3 (~600)
    assert np.std(to_source_units(image, meta)) < 0.8 * np.std(plane)  # the median filter smoothed it


@pytest.mark.parametrize("command", ["denoise", "noise", "pipeline", "classify", "metrics"])
def test_slice_reaches_every_command_and_bad_slices_are_one_line(tmp_path, capsys, volume_nii, command):
    source, _ = volume_nii
    argv = {"denoise": ["denoise", source, tmp_path / "o.png", "--method", "median"],
            "noise": ["noise", source, tmp_path / "o.png", "--model", "gaussian"],
            "pipeline": ["pipeline", source, tmp_path / "o.png", "--type", "gaussian", "--denoiser", "median"],
            "classify": ["classify", source, "--json"],
            "metrics": ["metrics", source, source, "--json"]}[command]
    for bad, words in (("9", "slice 9 is out of range, the volume has 6 slices (0–5)"), ("-1", "start at 0"),
                       ("two", "slice number")):
        code, _, err = run_cli(capsys, *argv, "--slice", bad)
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and words in err, err
        assert "Traceback" not in err and not (tmp_path / "o.png").exists()
    code, out, err = run_cli(capsys, *argv, "--slice", 5)
    assert code == 0, err
    if command == "metrics":
        assert json.loads(out)["psnr"] > 60  # the same slice of the same file
