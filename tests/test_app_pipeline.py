"""AppTest of the Pipeline page: classifier chart, route, run with progress, stages, downloads."""
import pytest

from denoise_core import pipeline, registry
from ui import state


def titles(*names: str) -> list[str]:
    """What the page shows for these registered names (never the raw ids)."""
    return [next(m.title for m in registry.methods() if m.name == name) for name in names]


@pytest.fixture
def pipeline_page(open_page):
    return open_page("pipeline", noise="salt_pepper", **{"n.amount": "0.1"}, seed="3")


def test_salt_and_pepper_is_classified_routed_and_cleaned(pipeline_page):
    at = pipeline_page.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 1
    assert any("| **mixed** |" in md.value and "Overall accuracy" in md.value for md in at.expander[0].markdown)
    assert any(md.value == "**Route:** " + titles("ffdnet_salt_pepper")[0] for md in at.markdown)  # salt_pepper's rule
    impulses = next(m for m in at.metric if m.label == "Estimated impulses").value
    assert abs(float(impulses.split()[0]) - 10.0) < 1.5
    at.button(key="w.pl.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["stage"]) == ["input", "denoise"]
    gain = table["PSNR (dB)"].iloc[-1] - table["PSNR (dB)"].iloc[0]
    assert gain >= 23.0, table  # 10% impulses on the small sample: 14.78 -> 40.00 dB measured
    assert len(at.get("download_button")) == 2
    assert at.selectbox(key="w.pl.right").value.startswith("1. denoise")


def test_overrides_and_sharpening_are_stages_of_the_record(pipeline_page):
    at = pipeline_page.run()
    at.multiselect(key="w.pl.denoisers").set_value(["median", "gaussian"])
    at.toggle(key="w.pl.sharpen").set_value(True).run()
    at.button(key="w.pl.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Noise classifier", *titles("median", "gaussian", "unsharp_mask")]
    assert set(table["why"][1:3]) == {"chosen by the user"}


def test_on_ct_the_noise_level_is_also_in_hu_and_the_stage_table_says_what_psnr_is_measured_on(open_page):
    from denoise_core import samples
    from denoise_core.image import read_image

    at = open_page("pipeline", img="ct").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    _, meta = read_image(samples.sample_path("ct"))
    sigma = next(m.value for m in at.metric if m.label == "Estimated noise σ")  # e.g. "25.32 /255 · 204.8 HU"
    per255, hu = sigma.split(" · ")
    assert hu.endswith(" HU") and float(hu.split()[0]) == pytest.approx(float(per255.split()[0]) / 255 * 2063, rel=2e-3)
    assert meta.value_range[1] - meta.value_range[0] == 2063
    at.button(key="w.pl.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "PSNR (dB)" in at.dataframe[0].value.columns
    assert any(c.value.startswith("Measured on the data (CT, 16-bit, HU;") and "peak = full data range = 2063 HU"
               in c.value for c in at.caption)


# measured: noisy 27.53 dB, BM3D at the estimated sigma 30.60 (ffdnet_ct measured below BM3D on Gaussian noise)
def test_a_ct_slice_classified_as_gaussian_goes_to_bm3d_and_the_reason_gives_the_ct_model_s_margin(open_page):
    at = open_page("pipeline", img="ct", noise="ct_lowdose", **{"n.photons": "10000"}).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(md.value == "**Route:** " + titles("bm3d")[0] for md in at.markdown)
    margin = pipeline.MARGINS[("ffdnet_ct", "gaussian")]
    assert any(f"ffdnet_ct stays out: {margin.db:+.2f} dB over bm3d" in c.value for c in at.caption)
    at.button(key="w.pl.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Noise classifier", *titles("bm3d")]
    assert table["PSNR (dB)"].iloc[-1] - table["PSNR (dB)"].iloc[0] >= 2.5, table


def test_a_stage_run_again_with_other_parameters_is_measured_and_shown_anew(pipeline_page):
    at = pipeline_page.run()
    at.multiselect(key="w.pl.denoisers").set_value(["median"])
    at.toggle(key="w.pl.sharpen").set_value(True).run()
    shown = []
    for amount in (0.2, 3.0):
        at.slider(key="w.pl.unsharp_mask.amount").set_value(amount).run()
        at.button(key="w.pl.run").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        table = at.dataframe[0].value
        assert list(table["stage"]) == ["input", "denoise", "sharpen"]
        shown.append((table["PSNR (dB)"].iloc[-1], at.get("component_instance")[0].proto.json_args))
    (weak, weak_slider), (strong, strong_slider) = shown
    assert weak > strong + 1.0, shown  # three times the detail layer adds that much noise back
    assert weak_slider != strong_slider  # the slider shows the new sharpened image


def test_adding_noise_is_offered_under_the_title_and_off_for_an_image_marked_noisy(open_page):
    at = open_page("pipeline").run()
    add = at.main.toggle(key="w.pl.add")  # in the page, not hidden in the sidebar
    assert add.value is True and not add.disabled
    assert at.sidebar.selectbox(key="w.noise.model").value == "gaussian"
    from test_app_home import _tiff16
    noisy = open_page("home").run()
    noisy.radio(key="w.upload.reference").set_value(noisy.radio(key="w.upload.reference").options[1])
    noisy.file_uploader(key="w.upload").set_value(("scan.tif", _tiff16(96, 120), "image/tiff")).run()
    noisy.switch_page("pages/3_Pipeline.py").run()
    assert not noisy.exception and noisy.session_state[state.HAS_CLEAN] is False
    toggle = noisy.main.toggle(key="w.pl.add")
    assert toggle.value is False and toggle.disabled and "already noisy" in toggle.help
    assert "w.noise.model" not in {s.key for s in noisy.selectbox}


def test_the_super_resolution_estimate_comes_from_the_last_run_on_this_machine(pipeline_page, tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    at = pipeline_page.run()
    at.selectbox(key="w.pl.sr").set_value("x2").run()
    at.selectbox(key="w.pl.sr_method").set_value("bicubic").run()
    assert any("a first estimate" in i.value for i in at.info)
    at.button(key="w.pl.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.run()  # the next look at the page
    assert any("bicubic" in i.value.lower() and "measured on this machine" in i.value for i in at.info)
