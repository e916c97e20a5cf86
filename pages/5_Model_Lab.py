"""Model Lab: each learned denoiser's card, training curves, size, speed and feature maps; the published models
to download."""
import streamlit as st

from denoise_core import registry, runner, weights
from ui import model_lab, page

page.setup("Model Lab", icon=":material/model_training:")
page.sidebar_image()
st.title("Model Lab")

with st.expander("Bring your own weights", icon=":material/upload:"):
    model_lab.import_box()

model_lab.show_overview()
name = model_lab.choose_model()
entry = page.guarded(weights.get_entry, name)
network = page.guarded(runner.load, name)
model_lab.show_summary(entry, network)

card_tab, curves_tab, speed_tab, maps_tab = st.tabs(["Model card", "Training curves", "CPU time", "Feature maps"])
with card_tab:
    model_lab.show_card(entry)
with curves_tab:
    model_lab.show_curves(entry)

image = page.require_image()
method = registry.get(name, "denoiser")
with speed_tab:  # the noise level given to the network is asked where it is used
    model_lab.show_timing(name, network, image, model_lab.noise_level(entry, method, "time"))
with maps_tab:
    model_lab.show_feature_maps(network, image, model_lab.noise_level(entry, method, "maps"))
