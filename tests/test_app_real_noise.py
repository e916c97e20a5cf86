"""AppTest of the real noisy samples on Denoise & Compare: a lesson that adds no noise, and the
no-reference comparison in place of PSNR/SSIM."""
from denoise_core import registry
from ui import compare, presets, state

NO_REFERENCE = ["estimated σ left (/255)", "method noise σ (/255)", compare.EDGES, compare.SHARPNESS]


def test_the_diffusion_mri_lesson_adds_no_noise_and_compares_without_a_reference(open_page):
    preset = next(p for p in presets.PRESETS if p.sample == "dwi")
    at = open_page("compare", m="median").run()
    at.button(key=f"w.preset.{presets.PRESETS.index(preset)}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.SAMPLE] == "dwi" and not at.session_state[state.HAS_CLEAN]
    assert "w.noise.model" not in {s.key for s in at.selectbox}  # nothing is added
    installed = [m for m in preset.methods if m in registry.names("denoiser")]
    assert at.session_state[state.METHODS] == installed and "bm3d" in installed
    table = at.dataframe[0].value
    assert list(table.index) == ["Noisy (input)", *(registry.get(m, "denoiser").title for m in installed)]
    assert set(NO_REFERENCE) <= set(table.columns) and "PSNR (dB)" not in table.columns
    results = table.drop(index="Noisy (input)")
    noisy_left = table.loc["Noisy (input)", "estimated σ left (/255)"]
    assert (results["estimated σ left (/255)"] < noisy_left).all()  # every method removes noise
    assert (results["method noise σ (/255)"] > 0).all() and (results[compare.SHARPNESS] < 1).all()
    note = next(i.value for i in at.info if i.value.startswith(f"**Lesson: {preset.label}.**"))
    assert "no added noise" in note
    assert at.query_params["img"] == "dwi"


def test_a_link_to_the_hubble_sample_opens_it_as_already_noisy(open_page):
    at = open_page("compare", img="hubble", m="median").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not at.session_state[state.HAS_CLEAN]
    table = at.dataframe[0].value
    assert set(NO_REFERENCE) <= set(table.columns) and "PSNR (dB)" not in table.columns
    median = table.loc[table.index.str.startswith("Median")].iloc[0]
    assert 0 < median["method noise σ (/255)"] < 20 and 0 < median[compare.SHARPNESS] < 1
    assert any("No clean reference" in i.value for i in at.info)
    caption = next(c.value for c in at.caption if "what 'auto' starts from" in c.value)
    assert "correlated noise" in caption and "growing with brightness" in caption


def test_the_noise_lab_offers_no_real_noise_lesson(open_page):
    at = open_page("noise_lab").run()
    keys = {b.key for b in at.button}
    real = [f"w.preset.{i}" for i, p in enumerate(presets.PRESETS) if p.model == presets.NO_NOISE]
    assert real and not keys & set(real) and "w.preset.0" in keys  # it adds noise: only the noise lessons
