"""AppTest of bundles in the app: Denoise & Compare's bundle verifies and, opened on Home, reopens the page as it was;
a DICOM source's bundle is de-identified unless switched off; the Benchmark page offers a stored run's bundle."""
import io
import zipfile

import numpy as np
import pydicom

from denoise_core import bundle
from denoise_core.benchmark import run
from denoise_core.benchmark.store import Store
from denoise_core.samples import load_sample
from test_app_benchmark import bench  # noqa: F401  (the Benchmark page with its own store)
from test_app_downloads import download, media  # noqa: F401  (the files behind the download buttons)
from test_benchmark import small_config, write_images
from test_bundle import verify
from conftest import open_tab
from ui import state


def open_bundle(at, data: bytes):
    at.run()
    at.file_uploader(key="w.bundle.open").set_value(("comparison.zip", data, "application/zip"))
    return at.run()


def downloads(at) -> list[str]:
    return [element.proto.label for element in at.get("download_button")]


def test_the_pages_bundle_verifies_and_reopens_image_noise_seed_methods_parameters_and_view(
        open_page, small_sample, media, tmp_path, capsys):  # noqa: F811
    link = {"noise": "salt_pepper", "seed": "7", "n.amount": "0.05", "n.salt_ratio": "0.5", "m": "median,gaussian",
            "d.median.size": "5", "d.gaussian.width": "1.5", "left": "median"}
    at = open_tab(open_page("compare", **link).run(), "downloads")
    assert not at.exception and not at.error
    data = download(at, "w.dl.bundle", media)
    (tmp_path / "page.zip").write_bytes(data)
    code, out, _ = verify(tmp_path / "page.zip", capsys)
    assert code == 0 and "numbers match" in out, out
    at = open_bundle(open_page("home", img="coffee"), data)
    assert not at.exception and not at.error
    assert at.session_state[state.SAMPLE] == small_sample and at.session_state[state.PAGE] == "Denoise & Compare"
    assert at.selectbox(key="w.noise.model").value == "salt_pepper"
    assert at.slider(key="w.noise.salt_pepper.amount").value == 0.05
    assert at.number_input(key="w.noise.seed").value == 7
    assert at.multiselect(key="w.methods.classical").value == ["median", "gaussian"]
    assert at.slider(key="w.den.median.size").value == 5 and at.slider(key="w.den.gaussian.width").value == 1.5
    assert at.selectbox(key="w.cmp.left").value.startswith("Median")  # the view: the slider's left panel, the tab
    assert at.query_params["tab"] == "downloads" and "Bundle (zip)" in downloads(at)


def test_a_bundle_of_an_uploaded_image_brings_its_own_copy(open_page, small_sample):
    clean, meta = load_sample(small_sample)
    pixels = np.ascontiguousarray(np.flipud(clean))  # not a sample: only the bundle holds it
    shots = [bundle.Shot("noisy", None, {}, pixels, float("nan"), {"psnr": 99.0})]
    data = bundle.compare_bundle(bundle.Input("compare", "mine.png", pixels, meta), shots, noise="gaussian",
                                 noise_params={"sigma": 0.1, "clip": True}, seed=0, view={"img": "upload", "m": "median"})
    at = open_bundle(open_page("home"), data)
    assert not at.exception and not at.error
    assert at.session_state[state.SAMPLE] is None and np.array_equal(at.session_state[state.IMAGE], pixels)
    assert at.multiselect(key="w.methods.classical").value == ["median"]


def test_a_broken_bundle_is_one_error_line_on_home(open_page):
    at = open_bundle(open_page("home"), b"PK\x03\x04 not really a zip")
    assert not at.exception and len(at.error) == 1 and "not a readable zip" in at.error[0].value


def dicom_outputs(data: bytes) -> list[pydicom.Dataset]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return [pydicom.dcmread(io.BytesIO(archive.read(n))) for n in archive.namelist() if n.startswith("outputs/")]


def test_a_dicom_sources_bundle_is_deidentified_unless_switched_off(open_page, media):  # noqa: F811
    at = open_tab(open_page("compare", img="ct", m="median").run(), "downloads")
    assert not at.exception and not at.error
    assert at.toggle(key="w.deid.bundle").value is True  # the header names a patient
    data = download(at, "w.dl.bundle", media)
    assert len(dicom_outputs(data)) == 2 and all(ds.PatientIdentityRemoved == "YES" for ds in dicom_outputs(data))
    assert all(b"CompressedSamples" not in zipfile.ZipFile(io.BytesIO(data)).read(n)
               for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    at.toggle(key="w.deid.bundle").set_value(False).run()
    kept = download(at, "w.dl.bundle", media)
    assert {str(ds.PatientName) for ds in dicom_outputs(kept)} == {"CompressedSamples^CT1"}


def test_the_benchmark_pages_bundle_of_a_stored_run_verifies_and_opens_on_home(
        bench, open_page, tmp_path, media, capsys):  # noqa: F811
    store = Store()  # the page's store ($DENOISE_WORKBENCH_DB of the fixture)
    run(small_config(write_images(tmp_path / "images")), workers=0, store=store)
    at = bench.run()
    assert not at.exception and not at.error
    data = download(at, "w.bench.bundle", media)
    (tmp_path / "run.zip").write_bytes(data)
    code, out, _ = verify(tmp_path / "run.zip", capsys)
    assert code == 0 and "16 of 16 numbers match" in out, out
    home = open_bundle(open_page("home"), data)
    assert not home.exception and not home.error and home.session_state[state.PAGE] != "Denoise & Compare"
    assert any(c.value.startswith("Benchmark bundle made") for c in home.caption)
    assert set(home.dataframe[0].value.index) == {"median", "mean"}  # its leaderboard
