"""Pipeline: classify the noise, pick the denoiser, sharpen and super-resolve, with no clean reference."""
import streamlit as st

from ui import cache, page, pipeline_page

page.setup("Pipeline", icon=":material/auto_fix_high:")
page.sidebar_image()
image = page.require_image()

st.title("Pipeline")
st.caption("Upload a noisy scan (Home page), or add noise here: the classifier names the noise and its "
           "strength, a rule table picks the denoiser, then optional sharpening and super-resolution.")
noise = pipeline_page.added_noise()
with st.sidebar:
    chosen = pipeline_page.choices()
clean, noisy, noisy_key = pipeline_page.noisy_input(image, noise)
classification = page.guarded(cache.classify, noisy_key, noisy)
left, right = st.columns([3, 2])
with left:
    pipeline_page.show_classification(classification)
with right:
    pipeline_page.show_route(classification, chosen)
pipeline_page.show_sr_time(noisy, chosen)

result = pipeline_page.last_run(noisy, noisy_key, chosen)
keys = pipeline_page.stage_keys(result)
pipeline_page.show_stages(result, keys, clean)
pipeline_page.show_slider(result, keys)
pipeline_page.show_downloads(result, keys, noise)
