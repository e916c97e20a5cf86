"""Every page under hostile links and the smallest images the upload accepts: no uncaught exception,
and every message is one line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from denoise_core.image import MIN_SIDE
from ui import state

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"home": "app.py", "noise_lab": "pages/1_Noise_Lab.py", "compare": "pages/2_Denoise_and_Compare.py",
         "pipeline": "pages/3_Pipeline.py", "benchmark": "pages/4_Benchmark.py", "model_lab": "pages/5_Model_Lab.py",
         "self_tuning": "pages/8_Self_Tuning.py", "forensics": "pages/7_Noise_Forensics.py"}

FUZZ = {
    "duplicates": {"seed": ["1", "2"], "m": ["median", "median"], "noise": ["gaussian", "poisson"],
                   "n.sigma": ["0.1", "0.2"], "d.median.size": ["3", "5"], "slice": ["1", "2"], "ref": ["none", "x"]},
    "garbage": {"seed": "abc", "noise": "no_such_noise", "m": "median,no_such_method,../../etc/passwd",
                "n.sigma": "nan", "d.median.size": "five", "slice": "x", "unknown_key": "1", "d.gaussian": "auto",
                "img": "no_such_sample"},
    "huge": {"seed": "99999999999999999999", "noise": "gaussian", "n.sigma": "1e308", "n.clip": "maybe",
             "m": "median,gaussian", "d.median.size": "99999999999", "d.gaussian.width": "-inf", "slice": "999999999"},
    "negative": {"seed": "-5", "noise": "salt_pepper", "n.amount": "-1", "m": "median", "d.median.size": "-3",
                 "slice": "-3"},
    "unicode_and_long": {"seed": "٣", "m": "médian,🙂," + "x" * 5000, "noise": "ガウス", "n.sigma": "0.1\n0.2",
                         "img": "../" * 100 + "etc/passwd", "a" * 3000: "b" * 3000, "d.median.size": "３"},
}


@pytest.fixture
def page_test(small_sample, monkeypatch, tmp_path):
    """``page_test(page, query)``: an AppTest of ``page`` (a key of PAGES) with the query ``query``, not yet run."""
    from streamlit.testing.v1 import AppTest
    from denoise_core.paths import DB_VAR

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(DB_VAR, str(tmp_path / "results.sqlite"))

    def make(page: str, query: dict):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        if page != "home":
            at.switch_page(PAGES[page])
        at.query_params.update({"img": small_sample, **query})
        return at

    return make


def assert_calm(at) -> None:
    """No uncaught exception; every error and warning on the page is one line."""
    assert not at.exception, [e.value for e in at.exception]
    for message in [*at.error, *at.warning]:
        assert len(str(message.value).strip().splitlines()) == 1, message.value
        assert len(str(message.value)) < 2000, message.value[:300]


@pytest.mark.parametrize("case", list(FUZZ))
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_survives_a_hostile_link(page_test, page, case):
    at = page_test(page, FUZZ[case]).run()
    assert_calm(at)
    assert 0 <= at.session_state[state.SEED] <= 2**32 - 1
    methods = at.session_state[state.METHODS]
    assert len(methods) == len(set(methods))


def test_a_link_with_a_key_given_twice_keeps_the_first_and_says_so(page_test):
    at = page_test("compare", FUZZ["duplicates"]).run()
    assert_calm(at)
    assert at.session_state[state.SEED] == 1 and at.session_state[state.NOISE] == "gaussian"
    assert at.session_state[state.METHODS] == ["median"]
    assert at.slider(key="w.den.median.size").value == 3
    notice = at.warning[0].value
    assert "'seed' is given 2 times; using the first, '1'" in notice and "'noise' is given 2 times" in notice


@pytest.mark.parametrize("seed", ["-5", "99999999999999999999"])
def test_a_seed_out_of_range_in_a_link_is_refused_with_one_line(page_test, seed):
    at = page_test("noise_lab", {"seed": seed}).run()
    assert_calm(at)
    assert at.session_state[state.SEED] == 0 and at.number_input(key="w.noise.seed").value == 0
    assert any(f"seed '{seed}': use a whole number from 0 to 4294967295; keeping seed 0" in w.value
               for w in at.warning)


def small_image(shape: tuple[int, ...]) -> np.ndarray:
    """A smooth ramp with a bright square: enough structure for every view."""
    height, width = shape[:2]
    image = np.add.outer(np.linspace(0.1, 0.6, height), np.linspace(0.0, 0.3, width)).astype(np.float32)
    image[height // 4:height // 2, width // 4:width // 2] = 0.9
    return image if len(shape) == 2 else np.repeat(image[..., None], shape[2], axis=2)


def use_small_image(at, image: np.ndarray) -> None:
    from denoise_core.image import ImageMeta
    meta = ImageMeta(name="tiny.png", format="PNG", bit_depth=8, value_range=(0.0, 255.0), color=image.ndim == 3,
                     modality=None)
    at.session_state[state.IMAGE] = image
    at.session_state[state.IMAGE_META] = meta
    at.session_state[state.IMAGE_HASH] = state.content_hash(image)
    at.session_state[state.IMAGE_ID] = "upload:" + state.content_hash(image)
    at.session_state[state.SAMPLE] = None
    at.session_state[state.PAGE] = None  # the widgets reseed, as after set_image: regions belong to the old image


@pytest.mark.parametrize("shape", [(MIN_SIDE, MIN_SIDE), (MIN_SIDE, 200), (200, MIN_SIDE), (MIN_SIDE, MIN_SIDE, 3)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_works_on_the_smallest_images(page_test, page, shape):
    at = page_test(page, {"m": "median,gaussian,wavelet"}).run()
    assert_calm(at)
    use_small_image(at, small_image(shape))
    at.run()
    assert_calm(at)
    if page == "pipeline" and min(shape[:2]) < 32:  # the classifier needs 32×32: the page says so and stops
        assert [e.value for e in at.error] == [f"image: {shape[1]}x{shape[0]} pixels is too small to classify "
                                               "its noise (at least 32x32)"]
        return
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("shape", [(MIN_SIDE - 1, 200), (2, 1024), (4, 4)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("page", ["noise_lab", "compare", "pipeline"])
def test_an_image_below_the_smallest_side_is_one_line_not_a_crash(page_test, page, shape):
    at = page_test(page, {"m": "median,gaussian,wavelet"}).run()
    use_small_image(at, small_image(shape))  # e.g. a long strip downscaled on Home
    at.run()
    assert_calm(at)
    assert [e.value for e in at.error] == [f"tiny.png: {shape[1]}×{shape[0]} pixels is smaller than the "
                                           f"{MIN_SIDE}×{MIN_SIDE} this page needs; choose or upload a larger "
                                           "image on Home"]
