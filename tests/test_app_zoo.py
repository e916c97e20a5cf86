"""AppTest of the published model zoo and the LPIPS weights in the app: offered, fetched with progress, used."""
import dataclasses
from pathlib import Path

import pytest
from lpips_mirror import lpips_mirror
from streamlit.testing.v1 import AppTest

from denoise_core import metrics, registry, runner, weights
from denoise_core.paths import DB_VAR
from denoise_core.weights import MIRROR_ENV, zoo
from ui import cache
from ui.zoo import bar_progress

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference_weights"
KAIR = REFERENCE / "kair"
LPIPS_HEAD = REFERENCE / "lpips_v0.1" / "alex.pth"
needs_kair = pytest.mark.skipif(not KAIR.is_dir(), reason="../shared/reference_weights/kair absent")
needs_head = pytest.mark.skipif(not LPIPS_HEAD.is_file(), reason="../shared/reference_weights/lpips_v0.1 absent")
PSNR, LPIPS = "PSNR (dB)", "LPIPS (AlexNet)"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache, no mirror, and a registry and caches that forget what the test fetches."""
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    runner.clear_cache()
    yield tmp_path / "cache"
    runner.clear_cache()
    cache.measure.clear()  # no LPIPS values measured here for the tests that follow


@pytest.fixture
def mirror(offline, monkeypatch):
    """``offline``, with the published KAIR files in the mirror folder."""
    monkeypatch.setenv(MIRROR_ENV, str(KAIR))
    return offline


@pytest.fixture
def lab(open_page):
    """The Model Lab, not yet run."""
    return open_page("model_lab")


def texts(at) -> str:
    """Every markdown, caption and info line of the page, one per line."""
    return "\n".join(element.value for element in [*at.markdown, *at.caption, *at.info])


def unreachable(monkeypatch, name: str) -> None:
    """Point published model ``name`` at an address where nothing answers."""
    published = zoo.ZOO[name]
    source = dataclasses.replace(published.source, url=f"http://127.0.0.1:9/{published.source.filename}")
    monkeypatch.setitem(zoo.ZOO, name, dataclasses.replace(published, source=source))


@needs_kair
def test_a_published_model_is_fetched_from_the_picker_and_beats_the_noisy_input(open_page, mirror):
    at = open_page("compare", img="ct").run()  # 128×128: the published DnCNN runs in a second
    button = at.button(key="w.methods.fetch.kair_dncnn_25")
    assert button.label == "Download (2.2 MB)"
    assert "downloadable · 2.2 MB, licence MIT (cszn/KAIR); paper: BSD68 σ25 29.23 dB" in texts(at)
    at = button.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    title = registry.get("kair_dncnn_25", "denoiser").title
    assert title in at.multiselect(key="w.methods.learned").options
    assert "w.methods.fetch.kair_dncnn_25" not in [b.key for b in at.button]
    at = at.multiselect(key="w.methods.learned").set_value(["kair_dncnn_25"]).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table.loc[title, PSNR] > table.loc["Noisy (input)", PSNR] + 8.0, table


@needs_kair
def test_the_model_lab_describes_published_models_before_and_after_the_fetch(lab, mirror):
    at = lab.run()
    options = at.selectbox(key="w.ml.model").options
    assert {zoo.ZOO[name].title + " — downloadable" for name in zoo.ZOO} <= set(options)
    assert "kair_drunet_gray" in texts(at)  # our DRUNet's card names the published one beside it
    at = at.selectbox(key="w.ml.model").set_value("kair_drunet_color").run()
    assert not at.exception
    assert at.button(key="w.ml.fetch.kair_drunet_color").label == "Download (≈130.6 MB)"
    assert "downloadable · ≈130.6 MB · licence MIT" in texts(at) and "Plug-and-Play" in texts(at)
    assert at.table[0].value.loc["CBSD68 σ25"].iloc[0] == pytest.approx(31.69)
    assert "Quality not measured here" in texts(at)  # its file could not be had where the numbers are measured
    at = at.selectbox(key="w.ml.model").set_value("kair_ffdnet_color").run()
    at = at.button(key="w.ml.fetch.kair_ffdnet_color").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="w.ml.model").value == "kair_ffdnet_color"
    card = texts(at)
    assert "copied from the mirror folder" in card and zoo.ZOO["kair_ffdnet_color"].source.url in card
    assert "sha256 matches the published value" in card and "3.4 MB" in card and "no training curve" in card
    assert at.table[0].value.loc["CBSD68 σ50"].iloc[0] == pytest.approx(27.96)
    assert at.table[0].value.loc["CBSD68 σ25", "measured here"] == zoo.MEASURED_HERE["kair_ffdnet_color"]["CBSD68 σ25"]
    assert "Quality not measured here" not in texts(at)
    network = runner.load("kair_ffdnet_color").model
    assert any(m.label == "Parameters" and m.value == f"{sum(p.numel() for p in network.parameters()):,}"
               for m in at.metric)


def test_offline_without_a_mirror_the_click_is_one_line_that_names_the_mirror(open_page, offline, monkeypatch):
    unreachable(monkeypatch, "kair_dncnn_25")
    at = open_page("compare").run()
    at = at.button(key="w.methods.fetch.kair_dncnn_25").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        ("kair_dncnn_25: offline, the official address cannot be reached. Set $DENOISE_WORKBENCH_MIRROR to a folder "
         "holding dncnn_25.pth (official names, e.g. a USB stick) and start the app again.")]
    assert "kair_dncnn_25" not in registry.names("denoiser") and not (offline / "zoo" / "dncnn_25.pth").exists()


@needs_head
def test_lpips_weights_are_fetched_from_the_metrics_and_lpips_is_measured(open_page, offline, tmp_path, monkeypatch):
    """The real v0.1 head; an AlexNet file built here, whose hash only this test puts in place of the pin."""
    usb = lpips_mirror(tmp_path / "usb", monkeypatch)
    monkeypatch.setenv(MIRROR_ENV, str(usb))
    at = open_page("compare", img="ct").run()
    assert LPIPS not in at.dataframe[0].value.columns
    button = at.button(key="w.cmp.fetch.lpips")
    assert button.label == "Download LPIPS weights (233 MB)"
    at = button.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    values = at.dataframe[0].value[LPIPS]
    assert values.notna().all() and (values > 0).all() and (values < 1).all(), values
    assert "w.cmp.fetch.lpips" not in [b.key for b in at.button]


def test_the_benchmark_offers_lpips_and_says_offline_how_to_use_a_mirror(offline, small_sample, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv(DB_VAR, str(tmp_path / "results.sqlite"))
    monkeypatch.setitem(weights.DOWNLOADS, "lpips", tuple(dataclasses.replace(s, url=f"http://127.0.0.1:9/{s.filename}")
                                                          for s in weights.DOWNLOADS["lpips"]))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/4_Benchmark.py")
    at.query_params["img"] = small_sample
    at = at.run().button(key="w.bench.fetch.lpips").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        ("LPIPS: offline, the official address cannot be reached. Set $DENOISE_WORKBENCH_MIRROR to a folder holding "
         "alexnet-owt-7be5be79.pth and alex.pth (official names, e.g. a USB stick) and start the app again.")]
    assert not metrics.available("lpips")


class Bar:
    """Stands in for ``st.progress``: records (value, text)."""

    def __init__(self):
        self.calls = []

    def progress(self, value, text):
        self.calls.append((value, text))


def test_progress_shows_the_fraction_or_the_megabytes_so_far():
    bar = Bar()
    update = bar_progress(bar)
    update(1_100_000, 2_200_000)
    update(3_000_000, None)
    assert bar.calls == [(0.5, "1.1 MB of 2.2 MB"), (0.0, "3.0 MB so far")]
