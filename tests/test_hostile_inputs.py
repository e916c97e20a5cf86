"""Hostile and unusual inputs (tests/hostile_corpus.py): each file is read or refused with one line,
by the reader, the command line and the Home upload; bombs are refused before decoding."""
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import hostile_corpus
from denoise_core.cli import main
from denoise_core.errors import DenoiseError, InvalidImageError
from denoise_core.image import MIN_SIDE, nifti, read_image, save_image

ROOT = Path(__file__).resolve().parents[1]
CEILING = 3 * 2**30
"""Address-space limit of the subprocesses: a bomb that were decoded would hit it."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, hostile_corpus.build(folder)


def _printable(path: Path) -> str:
    return str(path).replace("\r", "\\r").replace("\n", "\\n")


def test_every_file_is_read_or_refused_with_one_line_naming_it(corpus):
    folder, files = corpus
    for name, (path, expected) in files.items():
        try:
            image, meta = read_image(path)
        except InvalidImageError as error:
            message = str(error)
            assert expected == "refused", (name, message)
            assert "\n" not in message and "\r" not in message and message.startswith(_printable(path)), message
            continue
        assert expected == "ok", name
        assert image.dtype == np.float32 and min(image.shape[:2]) >= MIN_SIDE
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.ndim in (2, 3)
    assert not (folder / hostile_corpus.MARKER).exists(), "the pickle in pickle.npy was executed"


@pytest.mark.parametrize("command", ["classify", "denoise", "metrics"])
def test_cli_gives_success_or_exit_2_with_one_line(corpus, tmp_path, capsys, command):
    folder, files = corpus
    for name, (path, expected) in files.items():
        out = tmp_path / "out.png"
        argv = {"classify": ["classify", path], "denoise": ["denoise", path, out, "--method", "median"],
                "metrics": ["metrics", path, path]}[command]
        if command == "classify" and name == "smallest_16x16.png":
            expected = "refused"  # the noise classifier needs 32×32: one line naming the file
        code = main([str(a) for a in argv])
        _, err = capsys.readouterr()
        assert "Traceback" not in err, (name, err)
        if expected == "ok":
            assert code == 0, (name, err)
        else:
            assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (name, err)
            assert "\r" not in err and _printable(path) in err, (name, err)
    assert not (folder / hostile_corpus.MARKER).exists()


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (CEILING, CEILING))


@pytest.mark.parametrize("name", ["bomb_rgba16_7000.png", "bomb_392M_float64.nii.gz", "bomb_frames.dcm",
                                  "bomb_float64_rgba.tif", "link_dev_zero.png"])
def test_bombs_in_a_real_process_are_one_line_under_a_memory_ceiling(corpus, name):
    path, _ = corpus[1][name]
    done = subprocess.run([sys.executable, "-m", "denoise_core", "classify", str(path)], cwd=ROOT,
                          capture_output=True, text=True, preexec_fn=_limit_memory, timeout=300)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: {path}: "), done.stderr
    assert "too large" in done.stderr or "not a regular file" in done.stderr, done.stderr


def test_a_volume_slice_is_read_without_holding_the_volume(tmp_path):
    """A 1024×1024×120 int16 .nii.gz (252 MB decoded, within the limit) costs far less than its size."""
    header = _nifti_header((1024, 1024, 120), np.int16)
    path = tmp_path / "big.nii.gz"
    path.write_bytes(hostile_corpus._zeros_deflated(1024 * 1024 * 120 * 2, head=header, wbits=31))
    script = ("import resource, sys; from denoise_core.image import read_image; "
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
              "image, meta = read_image(sys.argv[1]); "
              "print(meta.slices, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, preexec_fn=_limit_memory)
    assert done.returncode == 0, done.stderr
    slices, grown_kb = map(int, done.stdout.split())
    assert slices == 120 and grown_kb < 120_000, done.stdout  # the whole first volume would be 252 MB


def _nifti_header(shape, dtype) -> bytes:
    import nibabel
    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    return header.binaryblock + bytes(4)


def test_volume_slices_read_slab_by_slab_equal_one_pass(tmp_path, monkeypatch):
    """Slab size does not change a slice or the volume's range (RAS axis 2 on stored axis 1, flipped x)."""
    import nibabel
    volume = np.random.default_rng(3).integers(-500, 1500, (20, 24, 18)).astype(np.int16)
    affine = np.array([[-2.0, 0, 0, 40], [0, 0, 1.5, -20], [0, 3.0, 0, -30], [0, 0, 0, 1]])
    path = tmp_path / "v.nii.gz"
    nibabel.save(nibabel.Nifti1Image(volume, affine), path)
    whole = [read_image(path, slice=k) for k in (0, 11, 23)]
    monkeypatch.setattr(nifti, "_CHUNK_BYTES", 1)  # one 20×24 slab at a time
    for k, (image, meta) in zip((0, 11, 23), whole):
        slab_image, slab_meta = read_image(path, slice=k)
        np.testing.assert_array_equal(slab_image, image)
        assert slab_meta.value_range == meta.value_range == (float(volume.min()), float(volume.max()))
        np.testing.assert_allclose(slab_image * np.ptp(volume) + volume.min(),
                                   np.rot90(volume[::-1, k, :].astype(np.float64)), atol=0.05)


def test_an_absurd_dicom_slope_is_one_line_without_a_numpy_warning(corpus):
    path, _ = corpus[1]["absurd_slope.dcm"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidImageError, match=r"overflows with RescaleSlope 1e\+308"):
            read_image(path)


def test_a_truncated_jpeg2000_dicom_says_truncated(corpus):
    path, _ = corpus[1]["truncated_j2k.dcm"]
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        read_image(path)


def test_images_below_the_minimum_side_are_refused_naming_the_minimum(corpus):
    for name in ("tiny_8x8.png", "strip_1x500.png"):
        path, _ = corpus[1][name]
        with pytest.raises(InvalidImageError, match=rf"^{path}: image is too small .* the minimum is 16×16"):
            read_image(path)
    assert read_image(corpus[1]["smallest_16x16.png"][0])[0].shape == (16, 16)


def test_a_save_failure_names_the_file(tmp_path):
    target = tmp_path / "result.jpg"
    with pytest.raises(DenoiseError, match=rf"^{target}: cannot save \(bit_depth: JPEG cannot store 16-bit"):
        save_image(target, np.zeros((16, 16), np.float32), bit_depth=16)


def test_downscaling_a_long_strip_keeps_the_minimum_side():
    from ui.image_input import downscale
    assert downscale(np.zeros((16, 4096), np.float32)).shape == (16, 4096)
    assert downscale(np.zeros((20, 8000), np.float32)).shape == (16, 6400)
    assert downscale(np.zeros((3000, 2000), np.float32)).shape == (1024, 683)


@pytest.mark.parametrize("name,words", [("bomb_rgba16_7000.png", "limit is 12,000,000 pixels"),
                                        ("bomb_392M_float64.nii.gz", "the limit is 300 MB"),
                                        ("tiny_8x8.png", "the minimum is 16×16"),
                                        ("pickle.npy", "refused for safety"),
                                        ("gray.png", None), ("one_bit.bmp", None), ("rgb.webp", None)])
def test_home_upload_shows_one_error_line_or_takes_the_image(corpus, open_page, name, words):
    from ui import state
    path, _ = corpus[1][name]
    at = open_page("home").run()
    at.file_uploader(key="w.upload").set_value((name, path.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    if words is None:
        assert not at.error and at.session_state[state.IMAGE].shape[:2] == read_image(path)[0].shape[:2]
    else:
        assert len(at.error) == 1 and words in at.error[0].value and "\n" not in at.error[0].value
    assert not (corpus[0] / hostile_corpus.MARKER).exists()

