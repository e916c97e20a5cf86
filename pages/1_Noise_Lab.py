"""Noise Lab: add a registered noise model to the image and look at the noise from every side."""
import streamlit as st

from ui import cache, controls, noise_lab, page, presets, state

page.setup("Noise Lab", icon=":material/grain:")
page.sidebar_image()

with st.sidebar:
    with st.expander("Lecture presets", expanded=True):
        presets.buttons(with_methods=False)
    st.markdown("### Noise")
    model, params, seed = controls.noise_controls()

clean = page.require_image()
st.title("Noise Lab")
recipe = noise_lab.recipe_caption(model, params, seed)
st.caption(recipe + " · the link holds the image, the noise with its parameters and seed, and the display window: "
           "bookmark it to come back to this noise")
presets.show_note()
if not state.get(state.HAS_CLEAN):
    st.info("This image was marked as already noisy; here it is treated as the clean image the noise is added to.")

key = noise_lab.noisy_id(model, params, seed)
noisy = page.noisy_image(clean, model, params, seed)
residual = noisy - clean
gain = noise_lab.residual_gain(residual)

noise_lab.show_images(clean, noisy, residual, gain, recipe, key)
noise_lab.show_levels(model, params, clean, noisy, residual, key)

tabs = st.tabs(["Histograms", "Power spectrum", "3-D region", "Line profile"])
with tabs[0]:
    noise_lab.show_histograms(model, params, clean, noisy, residual)
with tabs[1]:
    noise_lab.show_spectrum(clean, noisy, residual)
with tabs[2]:
    noise_lab.show_region(clean, noisy)
with tabs[3]:
    noise_lab.show_profile(clean, noisy)

state.write_url(with_methods=False)
