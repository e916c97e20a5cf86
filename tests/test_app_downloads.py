"""What leaves the app as a file: each session's DICOM carries its own header (or none of it, de-identified),
the comparison figure is built, and the before/after slider shows both halves in the current window."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from denoise_core.image import read_image, to_display, window_bounds
from test_deidentify import patient_dicom
from ui import state

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def media(monkeypatch):
    """{file id: (file name, bytes)} of every file a page hands to the browser (download buttons)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stored: dict[str, tuple[str, bytes]] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = (filename, path_or_data)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return stored


def downloaded(at, key: str, media: dict) -> tuple[str, bytes]:
    """(file name, bytes) behind the download button ``key``, built when the page ran, not on a later click."""
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(f"-{key}"))
    assert button.proto.url, f"{key}: no file behind the button"
    return media[Path(button.proto.url).stem]


def download(at, key: str, media: dict) -> bytes:
    return downloaded(at, key, media)[1]


def upload(name: str, data: bytes):
    """A new session that uploads ``data`` on Home (as a clean image) and opens Denoise & Compare with the median."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["img"] = "camera"
    at.run()
    at.file_uploader(key="w.upload").set_value((name, data, "application/dicom")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.SAMPLE] is None
    at.switch_page("pages/2_Denoise_and_Compare.py")
    at.query_params["m"] = "median"
    at.query_params["tab"] = "downloads"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_two_sessions_with_equal_pixels_each_download_their_own_patient(monkeypatch, media):
    monkeypatch.chdir(ROOT)
    pixels = np.full((32, 32), 1000, np.uint16)  # a constant image: both uploads have the same pixels
    first = upload("alpha.dcm", patient_dicom("Alpha^One", pixels))
    second = upload("beta.dcm", patient_dicom("Beta^Two", pixels))
    assert first.session_state[state.IMAGE_HASH] == second.session_state[state.IMAGE_HASH]
    for at, name in ((first, "Alpha^One"), (second, "Beta^Two")):
        assert at.radio(key="w.dl.format").value == "DICOM"
        assert at.toggle(key="w.deid.cmp").value is True  # the header names a patient: de-identified by default
        at.toggle(key="w.deid.cmp").set_value(False).run()
        assert not at.exception and not at.error
        for key in ("w.dl.noisy", "w.dl.median"):
            assert str(pydicom.dcmread(io.BytesIO(download(at, key, media))).PatientName) == name, (name, key)
        assert downloaded(at, "w.dl.noisy", media)[0] == f"{name.split('^')[0].lower()}_gaussian-sigma25_noisy.dcm"


def test_a_deidentified_download_names_no_patient_of_either_session(monkeypatch, media):
    monkeypatch.chdir(ROOT)
    pixels = np.full((32, 32), 1000, np.uint16)
    first = upload("alpha.dcm", patient_dicom("Alpha^One", pixels))
    second = upload("beta.dcm", patient_dicom("Beta^Two", pixels))
    names = []
    for at in (first, second):
        data = download(at, "w.dl.noisy", media)
        assert b"Alpha" not in data and b"Beta" not in data and b"PID-4711" not in data
        ds = pydicom.dcmread(io.BytesIO(data))
        assert ds.PatientIdentityRemoved == "YES"
        names.append(str(ds.PatientName))
        same = pydicom.dcmread(io.BytesIO(download(at, "w.dl.median", media)))
        assert str(same.PatientName) == names[-1] and same.StudyInstanceUID == ds.StudyInstanceUID
        assert [downloaded(at, key, media)[0] for key in ("w.dl.noisy", "w.dl.median", "w.dl.figure")] == \
            ["deidentified_gaussian-sigma25_noisy.dcm", "deidentified_gaussian-sigma25_median.dcm",
             "deidentified_gaussian-sigma25_comparison.png"]  # image, noise, method
    assert names[0] != names[1]  # each session its own pseudonym


def test_the_comparison_figure_is_a_png_of_every_panel(open_page, media):
    at = open_page("compare", m="median,gaussian", tab="downloads").run()
    assert not at.exception and not at.error
    figure = Image.open(io.BytesIO(download(at, "w.dl.figure", media)))
    assert figure.format == "PNG" and figure.width == 4 * (320 + 8) + 8  # Clean, Noisy, two results: one row


def slider_images(at) -> list[np.ndarray]:
    """The two images the before/after slider was handed, as uint8 arrays."""
    import json
    slider = next(c for c in at.get("component_instance") if c.proto.component_name.endswith("compare_slider"))
    args = json.loads(slider.proto.json_args)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(args[side].split(",", 1)[1])))) for side in
            ("before", "after")]


def test_both_halves_of_the_slider_follow_the_display_window(open_page):
    from denoise_core import add_noise
    at = open_page("compare", img="ct", m="median").run()
    assert not at.exception
    clean, meta = at.session_state[state.IMAGE], at.session_state[state.IMAGE_META]
    noisy = add_noise(clean, "gaussian", {}, seed=0)  # the page's defaults
    at.selectbox(key="w.cmp.left").set_value("Clean")
    at.selectbox(key="w.cmp.right").set_value("Noisy").run()
    assert [np.array_equal(u8, to_display(x)) for u8, x in zip(slider_images(at), (clean, noisy))] == [True, True]
    at.selectbox(key="w.window").set_value("Custom").run()
    at.number_input(key="w.window.centre").set_value(40.0).run()
    at.number_input(key="w.window.width").set_value(400.0).run()
    bounds = window_bounds(meta, (40.0, 400.0))
    left, right = slider_images(at)
    np.testing.assert_array_equal(left, to_display(clean, bounds))
    np.testing.assert_array_equal(right, to_display(noisy, bounds))
    at.selectbox(key="w.cmp.left").set_value("Noisy")  # one side changes: both stay in the current window
    at.selectbox(key="w.cmp.right").set_value("Clean").run()
    left, right = slider_images(at)
    np.testing.assert_array_equal(left, to_display(noisy, bounds))
    np.testing.assert_array_equal(right, to_display(clean, bounds))


def test_the_pipeline_offers_deidentification_next_to_its_dicom_download(monkeypatch, media):
    monkeypatch.chdir(ROOT)
    pixels = (np.random.default_rng(0).random((32, 32)) * 2000).astype(np.uint16)  # the classifier's smallest size
    at = upload("alpha.dcm", patient_dicom("Alpha^One", pixels))
    at.switch_page("pages/3_Pipeline.py").run()
    at.button(key="w.pl.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.toggle(key="w.deid.pl").value is True
    name, data = downloaded(at, "w.pl.download", media)
    assert name == "pipeline_result.dcm" and b"Alpha" not in data and b"PID-4711" not in data
    assert b"alpha.dcm" not in downloaded(at, "w.pl.record", media)[1]  # the file name can name the patient
    at.toggle(key="w.deid.pl").set_value(False).run()
    assert str(pydicom.dcmread(io.BytesIO(download(at, "w.pl.download", media))).PatientName) == "Alpha^One"
