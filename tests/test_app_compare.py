"""AppTest of Denoise & Compare: methods from the registry, cached results, metrics, shareable links."""
import json
import re

import numpy as np
import pandas as pd

from ui import state

PSNR = "PSNR (dB)"


def metrics(at) -> pd.DataFrame:
    return at.dataframe[0].value


def test_compare_runs_with_its_widgets(open_page):
    at = open_page("compare").run()
    assert not at.exception
    assert at.multiselect(key="w.methods.classical").value  # a default selection
    assert {"w.cmp.left", "w.cmp.right", "w.noise.model"} <= {s.key for s in at.selectbox}
    assert PSNR in metrics(at).columns and "seconds" in metrics(at).columns
    assert "w.cmp.zsize" not in {s.key for s in at.slider}  # only the open tab is drawn
    at.session_state["w.cmp.tab"] = "Zoomed grid"  # as a click on the tab sets it
    at.run()
    assert {"w.cmp.zsize", "w.cmp.zx", "w.cmp.zy"} <= {s.key for s in at.slider}
    assert at.query_params["tab"] == "zoom"  # the link holds the open tab


def test_median_beats_the_noisy_image_by_8_db_on_5_percent_salt_and_pepper(open_page):
    at = open_page("compare").run()
    at.selectbox(key="w.noise.model").set_value("salt_pepper").run()
    at.slider(key="w.noise.salt_pepper.amount").set_value(0.05)
    at.multiselect(key="w.methods.classical").set_value(["median"]).run()
    assert not at.exception and not at.error
    table = metrics(at)
    noisy = table.loc["Noisy (input)", PSNR]
    median = table.loc[table.index.str.startswith("Median"), PSNR].iloc[0]
    assert median >= noisy + 8.0, table
    assert at.query_params["m"] == "median" and at.query_params["noise"] == "salt_pepper"


def test_changing_one_parameter_recomputes_only_that_method(open_page):
    at = open_page("compare", m="median,gaussian", **{"d.median.size": "3", "d.gaussian.width": "1"}).run()
    before = metrics(at)
    at.slider(key="w.den.gaussian.width").set_value(2.0).run()
    assert not at.exception
    after = metrics(at)
    median = before.index[before.index.str.startswith("Median")][0]
    gauss = before.index[before.index.str.startswith("Gaussian")][0]
    assert after.loc[median, "seconds"] == before.loc[median, "seconds"]  # from the cache: same measurement
    assert after.loc[gauss, PSNR] != before.loc[gauss, PSNR]


def test_a_shared_link_restores_the_configuration(open_page):
    at = open_page("compare", noise="salt_pepper", seed="7", m="median",
                   **{"n.amount": "0.1", "n.salt_ratio": "0.5", "d.median.size": "5"}).run()
    assert not at.exception
    assert at.session_state[state.NOISE] == "salt_pepper"
    assert at.number_input(key="w.noise.seed").value == 7
    assert at.slider(key="w.noise.salt_pepper.amount").value == 0.1
    assert at.multiselect(key="w.methods.classical").value == ["median"]
    assert at.slider(key="w.den.median.size").value == 5
    assert at.toggle(key="w.auto.median").value is False
    assert at.query_params["d.median.size"] == "5" and "d.median" not in at.query_params


def test_without_a_clean_reference_only_what_can_be_computed(open_page):
    at = open_page("compare", m="median").run()
    noisy = np.clip(at.session_state[state.IMAGE] + 0.1 * np.random.default_rng(0).standard_normal(
        at.session_state[state.IMAGE].shape), 0, 1).astype(np.float32)
    at.session_state[state.IMAGE] = noisy
    at.session_state[state.IMAGE_HASH] = "noisy-upload"
    at.session_state[state.SAMPLE] = None
    at.session_state[state.HAS_CLEAN] = False
    at.run()
    assert not at.exception and not at.error
    assert any("No clean reference" in i.value for i in at.info)
    assert PSNR not in metrics(at).columns
    assert "Clean" not in at.selectbox(key="w.cmp.left").options


def test_the_speckle_model_gets_its_variance_control_and_removes_speckle(open_page):
    at = open_page("compare", m="ffdnet_speckle", noise="speckle").run()
    assert not at.exception and not at.error
    assert at.slider(key="w.den.ffdnet_speckle.var").value == 0.0  # 0: measured from the image
    table = metrics(at)
    model = table.loc[table.index.str.startswith("FFDNet gray, speckle"), PSNR].iloc[0]
    assert model >= table.loc["Noisy (input)", PSNR] + 8.5, table  # measured +9.85 dB at var 0.04


def test_learned_models_made_for_the_noise_come_first_the_others_apart_with_a_note(open_page):
    from denoise_core import registry
    at = open_page("compare").run()  # Gaussian noise by default
    title = lambda name: registry.get(name, "denoiser").title  # noqa: E731
    own, other = at.multiselect(key="w.methods.learned"), at.multiselect(key="w.methods.learned_other")
    assert own.label == "Learned methods made for Gaussian noise" and other.label == "Learned, made for other noise"
    assert title("drunet_gray_blind") in own.options and title("ffdnet_salt_pepper") not in own.options
    assert title("ffdnet_salt_pepper") in other.options and title("ffdnet_ct_lowdose") in other.options
    assert any("score below the noisy input" in c.value for c in at.caption)
    at.selectbox(key="w.noise.model").set_value("salt_pepper").run()
    assert title("ffdnet_salt_pepper") in at.multiselect(key="w.methods.learned").options


def test_a_link_restores_the_slider_panels_the_zoomed_region_and_the_window(open_page):
    from denoise_core import registry
    at = open_page("compare", img="ct", m="median", left="clean", right="median", tab="zoom", zoom="10,20,32",
                   win="40,400").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    median = registry.get("median", "denoiser").title
    assert (at.selectbox(key="w.cmp.left").value, at.selectbox(key="w.cmp.right").value) == ("Clean", median)
    assert [at.slider(key=f"w.cmp.{k}").value for k in ("zx", "zy", "zsize")] == [10, 20, 32]
    assert at.session_state[state.WINDOW][1] == (40.0, 400.0)  # centre 40 HU, width 400 HU
    at.selectbox(key="w.cmp.right").set_value("Noisy").run()
    assert (at.query_params["left"], at.query_params["right"]) == ("clean", "noisy")  # written back as it changes
    assert at.query_params["zoom"] == "10,20,32" and at.query_params["win"] == "40,400" and at.query_params["tab"] == "zoom"
    assert any("the open tab" in c.value and "(not the slider's position)" in c.value for c in at.caption)


def test_a_link_with_a_bad_view_says_so_in_one_line_and_shows_the_defaults(open_page):
    at = open_page("compare", m="median", zoom="a,b", win="1,2,3", left="nothing").run()
    assert not at.exception
    notice = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
    assert "zoom 'a,b'" in notice and "win '1,2,3'" in notice
    assert at.selectbox(key="w.cmp.left").value == "Noisy"


def test_a_slow_choice_waits_with_its_estimate_and_runs_on_the_go_ahead(open_page, tmp_path, monkeypatch):
    import json
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    (tmp_path / "speed.json").write_text(json.dumps({"median": [1e9]}))  # as if median took 1000 s per sample
    at = open_page("compare", m="median", seed="5").run()
    assert not at.exception
    warning = next(w.value for w in at.warning if w.value.startswith("Slow choice"))
    assert "Median filter on this" in warning and "minutes" in warning
    assert list(metrics(at).index) == ["Noisy (input)"]  # nothing ran
    at.button(key="w.cmp.go").click().run()
    assert not at.exception and "Median filter" in metrics(at).index
    rates = json.loads((tmp_path / "speed.json").read_text())["median"]
    assert len(rates) == 2 and rates[-1] < 1e6  # the real run was recorded: a median takes well under a second


def test_a_cancelled_run_leaves_the_rest_for_later(open_page):
    at = open_page("compare", m="median", seed="6").run()
    at.number_input(key="w.noise.seed").set_value(7)  # new noise: the median has to run again
    at.session_state[state.CANCELLED] = True  # what the Cancel button's click sets before the run it starts
    at.run()
    assert not at.exception
    assert any(i.value.startswith("Cancelled: Median filter not run") for i in at.info)
    assert list(metrics(at).index) == ["Noisy (input)"]


def test_the_projector_theme_follows_the_session_and_enlarges_the_charts(open_page):
    at = open_page("compare", m="median").run()

    def font_size(at) -> int:
        chart = next(m.value for m in at.markdown if "metric-bars" in m.value)  # the PSNR bars, an SVG
        return int(re.search(r'font-size="(\d+)"', chart)[1])

    plain = font_size(at)
    at.toggle(key="w.projector").set_value(True).run()
    assert not at.exception and at.session_state[state.PROJECTOR] is True
    assert font_size(at) == 17 > plain
    at.switch_page("pages/1_Noise_Lab.py").run()
    assert at.toggle(key="w.projector").value is True  # on every page
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)  # and in its charts
    assert spec["layout"]["font"]["size"] == 17
    assert spec["layout"]["colorway"][:3] == ["#0072B2", "#E69F00", "#009E73"]  # told apart by colour-blind viewers
