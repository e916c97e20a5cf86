"""Noise Forensics: what kind of noise the image has, how strong, and the evidence, with or without a clean image."""
import streamlit as st

from ui import forensics, page, state

page.setup("Noise Forensics", icon=":material/troubleshoot:")
forensics.apply_link()
page.sidebar_image()
image = page.require_image()
with st.sidebar:
    st.markdown("### Forensics")
    chosen = forensics.settings()
clean, noisy, noisy_key, recipe = forensics.inputs(image)

st.title("Noise Forensics")
report = page.guarded(forensics.analyse, noisy_key, noisy, clean, chosen["ref"] == "clean" and clean is not None,
                      chosen["block"])
forensics.show_verdict(report, recipe)

tabs = st.tabs(["Mean–variance", "Histogram", "Spectrum", "Classifier", "Downloads"])
with tabs[0]:
    forensics.show_scatter(report)
with tabs[1]:
    forensics.show_histogram(report, chosen["log"])
with tabs[2]:
    forensics.show_spectrum(report)
with tabs[3]:
    forensics.show_classifier(noisy_key, noisy)
with tabs[4]:
    forensics.show_downloads(report, page.download_stem(state.get(state.IMAGE_META), False))

state.write_forensics_url()
