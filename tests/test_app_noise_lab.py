"""AppTest of the Noise Lab: controls from the schema, presets, statistics that match the model."""
from denoise_core import registry
from conftest import open_tab
from ui import presets, state


def metric_value(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_noise_lab_runs_with_its_widgets(open_page):
    at = open_page("noise_lab").run()
    assert not at.exception
    model = at.selectbox(key="w.noise.model")
    assert model.options == [registry.get(n, "noise").title for n in registry.names("noise")]
    assert at.number_input(key="w.noise.seed").value == 0
    assert at.slider(key="w.noise.gaussian.sigma").value == 25.0  # σ shown in /255 on the slider itself
    assert len(at.get("plotly_chart")) >= 6  # histograms, residual, spectrum, radial, two surfaces, profile
    assert {"w.nl.size", "w.nl.x", "w.nl.y", "w.nl.row"} <= {s.key for s in at.slider}


def test_salt_and_pepper_statistics_match_the_model(open_page):
    at = open_page("noise_lab").run()
    at.selectbox(key="w.noise.model").set_value("salt_pepper").run()
    at.slider(key="w.noise.salt_pepper.amount").set_value(0.05).run()
    assert not at.exception
    changed = float(metric_value(at, "Impulses measured").split()[0])
    estimated = float(metric_value(at, "Impulses estimated").split()[0])
    assert 4.0 < changed < 6.0          # 5% of the pixels, a few of them unchanged (already black/white)
    assert abs(estimated - 5.0) < 1.5   # the blind estimator agrees
    assert at.query_params["noise"] == "salt_pepper" and at.query_params["n.amount"] == "0.05"


def test_gaussian_sigma_is_measured_and_estimated(open_page):
    at = open_page("noise_lab", noise="gaussian", **{"n.sigma": str(25 / 255), "n.clip": "false"}).run()
    assert not at.exception
    measured = float(metric_value(at, "σ measured").split()[0])
    estimated = float(metric_value(at, "σ estimated").split()[0])
    assert abs(measured - 25) < 0.5 and abs(estimated - 25) < 2.5


def test_lecture_preset_sets_model_params_and_seed(open_page):
    at = open_page("noise_lab").run()
    impulse = next(p for p in presets.PRESETS if p.model == "salt_pepper")
    at.button(key=f"w.preset.{presets.PRESETS.index(impulse)}").click().run()
    assert not at.exception
    assert at.session_state[state.NOISE] == "salt_pepper"
    assert at.slider(key="w.noise.salt_pepper.amount").value == 0.05
    assert at.number_input(key="w.noise.seed").value == impulse.seed


def test_every_registered_noise_model_renders_on_a_colour_image(open_page):
    """New noise models get the whole page (controls, expected distribution or its absence) for free."""
    from denoise_core import samples

    colour = next(s.name for s in samples.samples() if s.color)
    at = open_page("noise_lab", img=colour).run()
    for name in registry.names("noise"):
        at.selectbox(key="w.noise.model").set_value(name).run()
        assert not at.exception, name
        assert not at.error, (name, [e.value for e in at.error])


def test_expected_residual_matches_the_models_where_they_have_a_density():
    """denoise_core.analysis: the curve drawn against the residual histogram is the right one."""
    import numpy as np

    from denoise_core import analysis, apply

    rng = np.random.default_rng(0)
    clean = np.clip(np.linspace(0.05, 0.95, 128)[None, :] + 0.02 * rng.standard_normal((128, 128)), 0, 1).astype(np.float32)
    for model, params, tolerance in [("gaussian", {"sigma": 0.1, "clip": False}, 0.06), ("speckle", {"var": 0.04}, 0.1),
                                     ("rician", {"sigma": 0.05}, 0.06), ("poisson", {"peak": 200.0}, 0.1)]:
        residual = apply.add_noise(clean, model, params, seed=1) - clean
        edges = np.linspace(-4 * residual.std(), 4 * residual.std(), 81)
        expected, note = analysis.expected_residual(model, params, clean, edges)
        measured = analysis.histogram(residual, edges)
        assert expected is not None and note
        assert np.sum(np.abs(expected - measured) * np.diff(edges)) < tolerance, model
    assert analysis.expected_residual("salt_pepper", {"amount": 0.05}, clean, edges)[0] is None


def test_white_noise_has_a_flat_power_spectrum():
    import numpy as np

    from denoise_core import analysis

    noise = np.random.default_rng(0).standard_normal((768, 768)).astype(np.float32)  # 9 Welch tiles
    _, radial = analysis.radial_profile(analysis.power_spectrum(noise))
    assert radial[8:].max() - radial[8:].min() < 0.2  # log10 units: flat (rings near the centre hold few samples)
    assert abs(np.median(radial)) < 0.1  # unit variance -> unit power (log10 = 0) once tiles are averaged


def test_the_chosen_noise_model_follows_to_the_other_page(open_page):
    at = open_page("compare").run()
    at.selectbox(key="w.noise.model").set_value("poisson").run()
    at.switch_page("pages/1_Noise_Lab.py").run()
    assert not at.exception
    assert at.selectbox(key="w.noise.model").value == "poisson"


def test_an_image_smaller_than_the_region_still_renders(open_page):
    """A 20×24 image (a small slice, a thumbnail): region and zoom boxes cover it, with no slider to move them."""
    import numpy as np

    at = open_page("noise_lab").run()
    tiny = np.tile(np.linspace(0, 1, 20, dtype=np.float32), (24, 1))
    at.session_state[state.IMAGE] = tiny
    at.session_state[state.IMAGE_HASH] = "tiny"
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key="w.nl.size").value == 20 and "w.nl.x" not in {s.key for s in at.slider}
    at.switch_page("pages/2_Denoise_and_Compare.py").run()
    assert not at.exception, at.exception
    open_tab(at, "zoom")
    assert not at.exception, at.exception
    assert at.slider(key="w.cmp.zsize").value == 20 and "w.cmp.zx" not in {s.key for s in at.slider}


def test_a_preset_after_manual_changes_sets_all_it_names_and_says_what_it_changed(open_page):
    impulse = next(p for p in presets.PRESETS if p.model == "salt_pepper")
    at = open_page("compare", img="ct", m="median", **{"d.median.size": "7"}).run()
    assert at.toggle(key="w.auto.median").value is False and at.slider(key="w.den.median.size").value == 7
    at.button(key=f"w.preset.{presets.PRESETS.index(impulse)}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.SAMPLE] == impulse.sample and at.session_state[state.METHODS] == list(impulse.methods)
    assert at.toggle(key="w.auto.median").value is True  # the manual size is gone: back to auto
    assert at.slider(key="w.den.median.size").value == 3  # what auto picks for 5% impulses
    note = next(i.value for i in at.info if i.value.startswith(f"**Preset: {impulse.label}.**"))
    assert impulse.note in note  # every preset's note is on the page, not only the medical ones
    assert f"image: the {impulse.sample} sample (was ct)" in note and "Salt and pepper" in note
    assert "Median filter" in note and "each on auto" in note


def test_levels_are_shown_in_the_units_people_use(open_page):
    at = open_page("noise_lab", img="ct").run()
    sigma = at.slider(key="w.noise.gaussian.sigma")
    assert sigma.label == "sigma (HU)" and abs(sigma.value - 25 / 255 * 2063) < 1e-6  # the CT's 2063 HU span
    sigma.set_value(100.0).run()
    assert not at.exception and abs(at.session_state[state.NOISE_PARAMS]["gaussian"]["sigma"] - 100 / 2063) < 1e-9
    at.selectbox(key="w.noise.model").set_value("ct_lowdose").run()
    photons = at.select_slider(key="w.noise.ct_lowdose.photons")
    assert photons.label == "photons (logarithmic)" and photons.value == 2000
    assert {"100", "1,000", "10,000", "100,000", "1,000,000", "10,000,000"} <= set(photons.proto.options)
    photons.set_value(500.0).run()
    assert not at.exception and at.session_state[state.NOISE_PARAMS]["ct_lowdose"]["photons"] == 500.0


def test_each_noise_is_summed_up_by_a_statistic_that_means_something_for_it(open_page):
    at = open_page("noise_lab", noise="poisson", **{"n.peak": "30"}).run()
    assert not at.exception
    assert abs(float(metric_value(at, "Peak fitted")) - 30) < 8  # the peak read off the residual
    at = open_page("noise_lab", noise="salt_pepper", **{"n.amount": "0.1"}).run()
    assert any("left unchanged (0) are left out" in c.value for c in at.caption)  # the impulses, not a spike at 0


def test_noise_speed_is_recorded_and_a_cancelled_noise_waits_for_a_click(open_page):
    from denoise_core import progress, speed
    at = open_page("noise_lab", img="ct", noise="ct_lowdose", seed="4711").run()  # a noise no other test made
    assert not at.exception and speed.estimate("noise ct_lowdose", 512 * 512) > 0  # the next bar's estimate
    noisy_shown = at.session_state[state.NOISE_PARAMS]["ct_lowdose"]
    key = (at.session_state[state.IMAGE_HASH], "ct_lowdose", tuple(sorted(noisy_shown.items())), 4711)
    at.session_state[state.NOISE_CANCELLED] = key  # as a click on the bar's Cancel leaves it
    at.run()
    assert "Cancelled: the Low-dose CT (projection-domain Poisson) noise was not added." in [i.value for i in at.info]
    assert not at.tabs  # the page waits: nothing is drawn from a noise that was not made
    at.button(key="w.noise.resume").click().run()
    assert not at.exception and at.session_state[state.NOISE_CANCELLED] is None and len(at.tabs) == 4
    assert progress.report(0.5) is None  # no listener is left behind by the page
