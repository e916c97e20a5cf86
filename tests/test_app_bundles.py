"""AppTest of bundles in the app: a bundle opened on Home reopens Denoise & Compare as it was; the page and the
Benchmark page offer their bundle."""
import numpy as np

from denoise_core import bundle
from denoise_core.benchmark import run
from denoise_core.benchmark.store import Store
from denoise_core.samples import load_sample
from test_app_benchmark import bench  # noqa: F401  (the Benchmark page with its own store)
from test_benchmark import small_config, write_images
from test_bundle import compare_zip
from conftest import open_tab
from ui import state


def open_bundle(at, data: bytes):
    at.run()
    at.file_uploader(key="w.bundle.open").set_value(("comparison.zip", data, "application/zip"))
    return at.run()


def downloads(at) -> list[str]:
    return [element.proto.label for element in at.get("download_button")]


def test_a_bundle_opened_on_home_restores_image_noise_seed_methods_parameters_and_view(open_page, small_sample):
    at = open_bundle(open_page("home", img="coffee"), compare_zip(small_sample, noise="salt_pepper", seed=7))
    assert not at.exception and not at.error
    assert at.session_state[state.SAMPLE] == small_sample and at.session_state[state.PAGE] == "Denoise & Compare"
    assert at.selectbox(key="w.noise.model").value == "salt_pepper"
    assert at.slider(key="w.noise.salt_pepper.amount").value == 0.05
    assert at.number_input(key="w.noise.seed").value == 7
    assert at.multiselect(key="w.methods.classical").value == ["median", "gaussian"]
    assert at.slider(key="w.den.median.size").value == 3 and at.slider(key="w.den.gaussian.width").value == 1.0
    assert {"w.cmp.zsize", "w.cmp.zx"} <= {s.key for s in at.slider}  # the view: the zoomed grid is open
    assert at.query_params["tab"] == "zoom"


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


def test_compare_offers_its_bundle_in_the_downloads_tab(open_page):
    at = open_tab(open_page("compare", m="median").run(), "downloads")
    assert not at.exception and not at.error
    assert "Bundle (zip)" in downloads(at)


def test_a_dicom_sources_bundle_is_deidentified_unless_switched_off(open_page):
    at = open_tab(open_page("compare", img="ct", m="median").run(), "downloads")
    assert not at.exception and not at.error
    assert at.toggle(key="w.deid.bundle").value is True and "Bundle (zip)" in downloads(at)


def test_the_benchmark_page_offers_a_stored_runs_bundle(bench, tmp_path):  # noqa: F811
    store = Store()  # the page's store ($DENOISE_WORKBENCH_DB of the fixture)
    run(small_config(write_images(tmp_path / "images")), workers=0, store=store)
    at = bench.run()
    assert not at.exception and not at.error
    assert "Download bundle (zip)" in downloads(at)
