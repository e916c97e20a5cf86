"""Shared fixtures of the app tests: run a page of the app with AppTest on a small sample image."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"home": "app.py", "noise_lab": "pages/1_Noise_Lab.py", "compare": "pages/2_Denoise_and_Compare.py",
         "pipeline": "pages/3_Pipeline.py", "model_lab": "pages/5_Model_Lab.py",
         "self_tuning": "pages/8_Self_Tuning.py", "vote": "pages/9_Vote.py", "challenge": "pages/10_Challenge.py",
         "forensics": "pages/7_Noise_Forensics.py", "sweeps": "pages/6_Sweeps.py"}


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory, monkeypatch):
    """Each test's own cache folder (fetched weights, measured speeds), also for the processes it starts:
    what this machine, or an earlier test, measured or fetched never changes what a test sees."""
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def small_sample() -> str:
    """Name of the smallest gray, non-medical sample image (the app tests run on it to stay fast)."""
    from denoise_core import samples
    from denoise_core.image import read_image

    def rank(sample) -> tuple[bool, bool, int]:
        image, _ = read_image(samples.sample_path(sample.name))
        return sample.modality is not None, image.ndim != 2, image.size

    return min(samples.samples(), key=rank).name


@pytest.fixture
def open_page(small_sample, monkeypatch):
    """``open_page(page, **query)``: an AppTest of ``page`` (a key of PAGES), not yet run.

    The app starts at app.py (so page links resolve) and switches to ``page``; ``query`` becomes the
    URL's query parameters, the small sample image unless ``img`` is given.
    """
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(ROOT)  # .streamlit/config.toml applies

    def make(page: str, **query: str):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if page != "home":
            at.switch_page(PAGES[page])
        for key, value in {"img": small_sample, **query}.items():
            at.query_params[key] = value
        return at

    return make


def open_tab(at, tab: str):
    """Open tab ``tab`` of Denoise & Compare (a name of ``ui.compare.TABS``) as a click on it does, and rerun:
    only the open tab is drawn."""
    from ui.compare import TABS
    at.session_state["w.cmp.tab"] = TABS[tab]
    return at.run()
