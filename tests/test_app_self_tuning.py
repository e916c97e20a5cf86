"""AppTest of the Self Tuning page: tune on the noisy image, the loss and PSNR charts, the link to Denoise & Compare."""
from urllib.parse import parse_qsl

import pytest

from ui import state
from ui.calibrate import COMPARE_PAGE


@pytest.fixture
def tuning_page(open_page):
    return open_page("self_tuning", noise="gaussian", **{"n.sigma": "0.0980392", "n.clip": "false"}, seed="0",
                     cal="gaussian")


def compare_query(at) -> dict:
    link = next(p for p in at.get("page_link") if p.proto.label.startswith("Open in Denoise & Compare"))
    return dict(parse_qsl(link.proto.query_string))


def test_tuning_draws_the_loss_beside_the_true_psnr_and_links_the_parameters(tuning_page):
    at = tuning_page.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="w.cal.method").value == "gaussian"
    assert at.selectbox(key="w.cal.method").format_func("gaussian") == "Gaussian blur"  # titles, not ids
    assert not at.get("plotly_chart") and at.query_params["cal"] == "gaussian"
    at.button(key="w.cal.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 2  # the self-supervised loss and the true PSNR
    found = at.session_state[state.CALIBRATION][1]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Self-tuned (noisy image alone)"] == f"{found.chosen_psnr:.2f} dB"
    assert found.oracle_psnr - found.chosen_psnr <= 0.5  # σ 25/255 on the small sample: 0.13 dB measured
    assert [b.label for b in at.get("download_button")] == ["Grid (CSV)", "Self-tuned image (PNG 8-bit)", "Figure (PNG)"]
    table = at.dataframe[0].value
    assert len(table) == len(found.grid) and table["is"].str.contains("chosen").sum() == 1
    query = compare_query(at)
    assert query["m"] == "gaussian" and float(query["d.gaussian.width"]) == pytest.approx(found.chosen["width"], rel=1e-5)
    assert query["noise"] == "gaussian" and query["seed"] == "0"


def test_the_link_opens_denoise_and_compare_with_the_self_tuned_parameters(tuning_page, open_page):
    at = tuning_page.run()
    at.button(key="w.cal.run").click().run()
    query = compare_query(at)
    compare = open_page("compare", **query).run()
    assert not compare.exception and not compare.error, [e.value for e in compare.error]
    assert compare.session_state[state.METHODS] == ["gaussian"]
    assert compare.session_state[state.METHOD_AUTO]["gaussian"] is False
    assert compare.session_state[state.METHOD_PARAMS]["gaussian"]["width"] == pytest.approx(float(query["d.gaussian.width"]))


def test_without_a_clean_reference_only_the_loss_is_drawn(tuning_page):
    at = tuning_page.run()
    at.session_state[state.HAS_CLEAN] = False
    at.run()
    at.button(key="w.cal.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 1
    assert [m.value for m in at.metric][:2] == ["—", "—"]
    query = compare_query(at)
    assert query["ref"] == "none" and "noise" not in query and query["m"] == "gaussian"


def test_a_link_naming_no_tunable_method_falls_back_to_non_local_means(open_page):
    at = open_page("self_tuning", cal="dncnn_s25").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="w.cal.method").value == "nlm"
    assert any("dncnn_s25" in w.value for w in at.warning)
    assert COMPARE_PAGE.endswith("2_Denoise_and_Compare.py")


def test_a_hostile_method_in_the_link_is_one_short_line(open_page):
    at = open_page("self_tuning", cal="🙂" + "x" * 5000).run()
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and len(at.warning[0].value) < 200 and "\n" not in at.warning[0].value


def test_the_smallest_colour_image_is_tuned(open_page):
    from tests.test_app_fuzz import small_image, use_small_image
    at = open_page("self_tuning", cal="bilateral").run()
    use_small_image(at, small_image((16, 16, 3)))
    at.run()
    at.button(key="w.cal.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    found = at.session_state[state.CALIBRATION][1]
    assert found.image.shape == (16, 16, 3) and len(found.grid) >= 18 and len(at.get("plotly_chart")) == 2


def test_a_cancel_is_said_once_and_leaves_nothing_for_other_pages(tuning_page):
    at = tuning_page.run()
    at.button(key="w.cal.run").click().run()
    found = at.session_state[state.CALIBRATION]
    at.session_state[state.CANCELLED] = True  # what the Cancel button's click leaves for the next run
    at.run()
    assert any(i.value == "Cancelled: nothing kept." for i in at.info)
    assert at.session_state[state.CANCELLED] is False  # Denoise & Compare would say it too otherwise
    assert at.session_state[state.CALIBRATION] is found and len(at.get("plotly_chart")) == 2  # the last run stays
    at.run()
    assert not any(i.value.startswith("Cancelled") for i in at.info)
