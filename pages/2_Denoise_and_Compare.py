"""Denoise & Compare: several denoisers on the same noisy image, side by side, measured."""
import streamlit as st

from ui import bundles, cache, compare, controls, noise_lab, page, presets, state, volume

page.setup("Denoise & Compare", icon=":material/compare:")
page.sidebar_image()
clean = page.require_image()
has_clean = state.get(state.HAS_CLEAN)

with st.sidebar:
    with st.expander("Lecture presets"):
        presets.buttons(with_methods=True)
    if has_clean:
        st.markdown("### Noise")
        model, params, seed = controls.noise_controls()
    else:
        st.caption("The image is already noisy: no noise is added.")
    st.markdown("### Methods")
    chosen = controls.method_picker()

st.title("Denoise & Compare")
if has_clean:
    recipe, noise_tag = noise_lab.recipe_caption(model, params, seed), noise_lab.file_tag(model, params)
    noisy_key = noise_lab.noisy_id(model, params, seed)
    noisy = page.noisy_image(clean, model, params, seed)
else:
    recipe, noisy_key, noisy, clean = "input used as is (no clean reference)", state.get(state.IMAGE_HASH), clean, None
    noise_tag = "input"
level = page.guarded(cache.noise_level, noisy_key, noisy)
st.caption(f"{recipe} · {compare.level_caption(level, state.get(state.IMAGE_META))} (what 'auto' starts from) · "
           + compare.LINK_HOLDS
           + ("" if state.get(state.SAMPLE) else " An uploaded image is not in the link: it stays on this machine."))
presets.show_note()

settings = compare.method_settings(noisy_key, noisy, level, chosen)
if not settings:
    st.info("Choose one or more methods in the sidebar.")
results = compare.run_all(noisy_key, noisy, settings)

items = compare.panels(clean, noisy, noisy_key, results)
compare.show_slider(items, compare.panel_names(results, clean is not None))
frame, direction, formats = compare.metrics_frame(clean, noisy, noisy_key, results)
tabs = compare.tabs()  # only the open one is drawn
if tabs["metrics"].open:
    with tabs["metrics"]:
        compare.show_metrics(frame, direction, formats, clean is not None)
if tabs["zoom"].open:
    with tabs["zoom"]:
        compare.show_zoom_grid(items)
if tabs["differences"].open:
    with tabs["differences"]:
        compare.show_differences(clean, noisy, results)
if tabs["roi"].open:
    with tabs["roi"]:
        compare.show_roi(clean, items)
if tabs["downloads"].open:
    with tabs["downloads"]:
        compare.show_downloads(clean, noisy, noisy_key, results, frame, recipe, noise_tag)
        volume.show_export(results, (model, params, seed) if has_clean else None)
        bundles.compare_download(clean, noisy, noisy_key, results, recipe, (model, params, seed) if has_clean else None)
state.write_url(with_methods=True)  # last: the link holds the view drawn above
