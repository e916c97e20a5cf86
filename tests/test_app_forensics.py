"""Noise Forensics page: the verdict, the figures, a switch of the residual's reference and of the noise, the link."""
import json
import re

from ui import state


def charts(at) -> dict[str, dict]:
    """The page's plotly charts by their title."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"]: spec for spec in specs if spec["layout"].get("title")}


def test_page_names_poisson_and_draws_every_figure(open_page):
    at = open_page("forensics", noise="poisson", **{"n.peak": "50"}).run()
    assert not at.exception
    assert at.success[0].value.startswith("**Poisson (photon shot noise)**: looks like Poisson: variance ∝ mean")
    shown = charts(at)
    assert {"Local mean–variance", "Residual histogram and fitted densities", "log10 power spectrum of the residual",
            "Radially averaged spectrum", "Mean jump per offset modulo 8"} <= set(shown)
    assert any(title.startswith("Confusion on held-out") for title in shown)
    scatter = [t["name"] for t in shown["Local mean–variance"]["data"]]
    assert scatter[3] == "Poisson (linear)" and {"additive (flat)", "speckle (quadratic)",
                                                  "Rician (floor in the dark)"} <= set(scatter)
    assert at.query_params["fx.ref"] == "clean" and at.query_params["fx.block"] == "8"
    assert len(at.get("download_button")) == 5


def test_switching_to_no_reference_still_names_poisson_and_goes_into_the_link(open_page):
    at = open_page("forensics", noise="poisson", **{"n.peak": "10"}).run()
    at.radio(key="w.fx.ref").set_value("smooth").run()
    assert not at.exception
    assert "looks like Poisson" in at.success[0].value
    assert any("residual against a smooth estimate (5×5 median" in c.value for c in at.caption)
    assert at.query_params["fx.ref"] == "smooth" and at.session_state[state.FORENSICS]["ref"] == "smooth"


def test_switching_the_noise_to_salt_and_pepper_changes_the_verdict(open_page):
    at = open_page("forensics").run()
    assert "looks like additive Gaussian noise" in at.success[0].value  # the default noise
    at.selectbox(key="w.noise.model").set_value("salt_pepper").run()
    assert not at.exception
    found = re.search(r"looks like salt and pepper: ([0-9.]+)% of the pixels are impulses", at.success[0].value)
    assert found and abs(float(found.group(1)) - 5.0) <= 0.3  # the default amount, 5%


def test_a_link_sets_the_settings_and_a_bad_value_is_one_notice(open_page):
    at = open_page("forensics", **{"fx.ref": "smooth", "fx.block": "16", "fx.log": "true"}).run()
    assert not at.exception
    assert at.radio(key="w.fx.ref").value == "smooth" and at.select_slider(key="w.fx.block").value == 16
    histogram = charts(at)["Residual histogram and fitted densities"]
    assert histogram["layout"]["yaxis"]["type"] == "log"
    at = open_page("forensics", **{"fx.block": "7"}).run()
    assert not at.exception and at.select_slider(key="w.fx.block").value == 8
    assert any("fx.block '7' is not one of its choices" in w.value for w in at.warning)


def test_an_image_marked_already_noisy_is_measured_as_it_is_against_the_smooth_estimate(open_page):
    at = open_page("forensics").run()
    at.session_state[state.HAS_CLEAN] = False  # what Home's "already noisy" sets
    at.run()
    assert not at.exception
    radio = at.radio(key="w.fx.ref")
    assert radio.value == "smooth" and radio.disabled
    assert any(c.value.startswith("Noise: the image as it is (already noisy, no clean reference) · residual against a "
                                  "smooth estimate") for c in at.caption)
    assert at.success[0].value.startswith("**No noise (clean)**: looks clean")  # the sample photograph itself
    assert "w.noise.model" not in at.session_state  # no noise is added to it
