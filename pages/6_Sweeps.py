"""Sweeps: quality against the noise level, one line per method with its 95 % band, the crossovers, mismatch
experiments."""
import streamlit as st

from denoise_core.benchmark.store import Store
from ui import page, state, sweeps

page.setup("Sweeps", icon=":material/ssid_chart:")
page.sidebar_image()
sweeps.apply_link()
store = page.guarded(Store)
with st.sidebar:
    st.markdown("### Sweep")
    settings, clicked = sweeps.settings()

st.title("Sweeps")
st.caption("A noise level swept over a range, on every image and seed chosen, through the benchmark engine (the "
           "protocol of BENCHMARK.md; rows kept in the results store, so a sweep run before shows at once).")
found = page.guarded(sweeps.parts, settings)
if clicked:
    sweeps.run_parts(settings, found, store)
else:
    page.guarded(sweeps.stored, settings, found, store)
sweeps.show_results(settings)
state.write_sweep_url(settings)
