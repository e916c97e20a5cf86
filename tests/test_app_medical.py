"""AppTest of the medical views: display-window presets and region-of-interest metrics on the CT sample."""
import numpy as np
import pytest

from denoise_core import add_noise, samples
from denoise_core.image import read_image, window_bounds
from denoise_core.metrics import Box, cnr, snr
from ui import state


@pytest.fixture
def ct_compare(open_page):
    at = open_page("compare", img="ct")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def roi_table(at):
    return at.dataframe[1].value  # the metrics table is the first, the region table the second


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
    signal, background = (Box(*region) for region in next(s.roi for s in samples.samples() if s.name == "ct"))
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
