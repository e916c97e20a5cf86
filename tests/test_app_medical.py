"""AppTest of the medical views: display-window presets, region-of-interest metrics and units on the CT sample,
and the medical lessons."""
import json
import re

import numpy as np
import pytest

from denoise_core import add_noise, registry, samples
from denoise_core.image import read_image, to_source_units, window_bounds
from denoise_core.metrics import cnr, snr
from conftest import open_tab
from test_app_downloads import media  # noqa: F401  (a fixture)
from ui import presets, state


@pytest.fixture
def ct_compare(open_page):
    at = open_page("compare", img="ct")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def roi_table(at):
    """The region table, on the Region of interest tab (opened if it is not)."""
    if at.session_state["w.cmp.tab"] != "Region of interest":
        open_tab(at, "roi")
    return at.dataframe[0].value


def test_ct_window_presets_apply_to_every_page(ct_compare):
    at = ct_compare
    window = at.selectbox(key="w.window")
    assert window.options[:5] == ["Full range", "CT lung", "CT mediastinum", "CT bone", "CT brain"]
    window.set_value("CT lung").run()
    assert not at.exception
    assert at.session_state[state.WINDOW] == ("CT lung", (-600.0, 1500.0))
    assert any("C -600 / W 1500 HU" in c.value for c in at.caption)
    at.switch_page("pages/1_Noise_Lab.py").run()  # the window follows the image to the other pages
    assert not at.exception
    assert at.selectbox(key="w.window").value == "CT lung"
    at.selectbox(key="w.window").set_value("Custom").run()
    at.number_input(key="w.window.centre").set_value(40.0).run()
    at.number_input(key="w.window.width").set_value(400.0).run()
    assert at.session_state[state.WINDOW] == ("Custom", (40.0, 400.0))


def test_window_bounds_map_hu_to_the_screen():
    _, meta = read_image(samples.sample_path("ct"))
    low, high = window_bounds(meta, (-600.0, 1500.0))
    span = meta.value_range[1] - meta.value_range[0]
    assert low == pytest.approx((-1350 - meta.value_range[0]) / span)
    assert high == pytest.approx((150 - meta.value_range[0]) / span)


def test_roi_table_reports_snr_and_cnr_of_the_sample_regions(ct_compare):
    at = ct_compare
    table = roi_table(at)
    clean, meta = read_image(samples.sample_path("ct"))
    noisy = add_noise(clean, "gaussian", {}, seed=0)  # the page's defaults: Gaussian σ 25/255, seed 0
    signal, background = next(s.roi for s in samples.samples() if s.name == "ct")
    assert table.loc["Noisy", "SNR"] == pytest.approx(snr(noisy, signal, background, meta.value_range), rel=1e-4)
    assert table.loc["Noisy", "CNR"] == pytest.approx(cnr(noisy, signal, background), rel=1e-4)
    assert np.isnan(table.loc["Clean", "PSNR in region (dB)"])
    results = [name for name in table.index if name not in ("Clean", "Noisy")]
    assert results and all(table.loc[r, "CNR"] > table.loc["Noisy", "CNR"] for r in results)  # denoising helps


def test_moving_the_signal_region_changes_the_numbers_and_a_bad_region_is_one_line(ct_compare):
    at = ct_compare
    before = roi_table(at).loc["Noisy", "PSNR in region (dB)"]
    at.number_input(key="w.roi.signal.top").set_value(90).run()
    assert not at.exception
    assert roi_table(at).loc["Noisy", "PSNR in region (dB)"] != before
    at.number_input(key="w.roi.signal.height").set_value(60).run()  # 90 + 60 > 128 rows
    assert not at.exception
    assert len(at.error) == 1 and "does not fit in the 128×128 image" in at.error[0].value


# --- what every number is measured on ----------------------------------------------------------

def test_ct_metrics_are_also_given_in_hu_and_say_what_they_are_measured_on(ct_compare):
    at = ct_compare
    _, meta = read_image(samples.sample_path("ct"))
    span = abs(meta.value_range[1] - meta.value_range[0])
    table = at.dataframe[0].value
    assert {"MAE (HU)", "MSE (HU²)"} <= set(table.columns)
    np.testing.assert_allclose(table["MAE (HU)"], table["MAE"] * span, rtol=1e-9)
    np.testing.assert_allclose(table["MSE (HU²)"], table["MSE"] * span**2, rtol=1e-9)
    assert 100 < table.loc["Noisy (input)", "MAE (HU)"] < 250  # σ 25/255 of a 2063 HU span, clipped
    measured = "Measured on the data (CT, 16-bit, HU; [0, 1] ↔ −896…1167 HU), never on the display window."
    assert any(measured in c.value for c in at.caption)  # under the metrics table
    assert any("peak = full data range = 2063 HU" in c.value for c in at.caption)
    titles = [re.search(r'aria-label="([^"]+)"', m.value)[1] for m in at.markdown if "metric-bars" in m.value]
    assert titles == ["PSNR (dB)", "SSIM", "MSE (HU²)", "MAE (HU)", "seconds"]  # errors charted in HU
    roi_table(at)
    assert any(measured in c.value for c in at.caption)  # and under the region table


def test_the_region_table_gives_the_background_noise_in_hu(ct_compare):
    table = roi_table(ct_compare)
    clean, meta = read_image(samples.sample_path("ct"))
    noisy = add_noise(clean, "gaussian", {}, seed=0)
    background = next(s.roi for s in samples.samples() if s.name == "ct")[1]
    span = abs(meta.value_range[1] - meta.value_range[0])
    assert table.loc["Noisy", "σ background (HU)"] == pytest.approx(background.of(noisy).std() * span, rel=1e-5)
    assert table.loc["Clean", "σ background (HU)"] < table.loc["Noisy", "σ background (HU)"] / 3


def test_noise_lab_gives_sigma_in_hu_next_to_the_255_scale(open_page):
    at = open_page("noise_lab", img="ct").run()
    assert not at.exception and not at.error
    _, meta = read_image(samples.sample_path("ct"))
    span = abs(meta.value_range[1] - meta.value_range[0])
    measured = next(m.value for m in at.metric if m.label.startswith("σ measured"))  # "23.86 /255 · 193 HU"
    per255, hu = measured.split(" · ")
    assert hu.endswith(" HU") and float(hu.split()[0]) == pytest.approx(float(per255.split()[0]) / 255 * span, rel=2e-3)
    assert any("Nominal σ = 25.00/255" in c.value and "HU" in c.value and "never on the display window" in c.value
               for c in at.caption)


def test_plain_photos_stay_uncluttered_and_16_bit_data_gets_raw_values():
    from denoise_core.image import ImageMeta
    from ui import units

    photo = ImageMeta(name="a.png", format="PNG", bit_depth=8, value_range=(0, 255), color=True, modality=None)
    assert units.plain(photo) and units.caption(photo, psnr=True) == \
        "Measured on the data (8-bit). PSNR on the [0, 1] data: peak = full data range."
    assert units.scaled({"mse": 0.01, "mae": 0.1, "psnr": 20.0}, photo, {"mae": "MAE"}) == {}
    assert units.sigma(0.1, photo) == "25.50 /255"
    _, xray = read_image(samples.sample_path("xray"))  # MONOCHROME1: the range runs backwards
    assert units.value_map(xray) == "[0, 1] ↔ 1021…0 raw, inverted"
    assert units.scaled({"mse": 0.01, "mae": 0.1}, xray, {"mse": "MSE", "mae": "MAE"}) == \
        pytest.approx({"MSE (raw²)": 0.01 * 1021**2, "MAE (raw)": 0.1 * 1021})
    assert units.sigma(0.1, xray) == "25.50 /255 · 102.1 raw"


# --- lessons for the medical samples ----------------------------------------------------------

@pytest.mark.parametrize("preset", [p for p in presets.PRESETS if p.group == presets.MEDICAL], ids=lambda p: p.sample)
def test_a_medical_lesson_sets_noise_sample_and_the_installed_methods(open_page, preset):
    at = open_page("compare", m="median").run()
    at.button(key=f"w.preset.{presets.PRESETS.index(preset)}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.SAMPLE] == preset.sample
    assert at.session_state[state.NOISE] == preset.model
    assert at.session_state[state.NOISE_PARAMS][preset.model] == registry.get(preset.model, "noise").resolve(preset.params)
    installed = [m for m in preset.methods if m in registry.names("denoiser")]
    assert "ffdnet_gray_blind" in installed and at.session_state[state.METHODS] == installed
    chosen = [value for box in at.multiselect if box.key.startswith("w.methods.") for value in box.value]
    assert sorted(chosen) == sorted(installed)
    titles = [registry.get(m, "denoiser").title for m in installed]
    assert list(at.dataframe[0].value.index) == ["Noisy (input)", *titles]
    assert at.query_params["noise"] == preset.model and at.query_params["img"] == preset.sample
    note = next(i.value for i in at.info if i.value.startswith(f"**Lesson: {preset.label}.**"))
    missing = [m for m in preset.methods if m not in installed]
    assert (f"left out: {', '.join(missing)}" in note) == bool(missing)


def test_ct_results_download_as_dicom_or_tiff_in_hounsfield_units(media, ct_compare):
    from test_app_downloads import download
    from ui import cache

    at = open_tab(ct_compare, "downloads")
    assert at.radio(key="w.dl.format").options == ["DICOM", "TIFF 16-bit", "PNG 8-bit"]
    clean, meta = read_image(samples.sample_path("ct"))
    noisy = add_noise(clean, "gaussian", {}, seed=0)  # the page's defaults
    for label in ("DICOM", "TIFF 16-bit"):
        at.radio(key="w.dl.format").set_value(label).run()
        assert not at.exception and not at.error
        back, back_meta = read_image(download(at, "w.dl.noisy", media), name="result." + cache.DOWNLOADS[label][0])
        assert back_meta.modality == "CT" and back_meta.units == "HU"
        assert np.abs(to_source_units(back, back_meta) - to_source_units(noisy, meta)).max() <= 0.5 + 1e-3
    _, photo = read_image(samples.sample_path("camera"))
    assert cache.download_formats(photo) == ["PNG 8-bit", "TIFF 16-bit"]
