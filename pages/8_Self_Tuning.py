"""Self Tuning: a classical denoiser tuned on the noisy image alone, beside the oracle and the 'auto' rule."""
import streamlit as st

from ui import calibrate, page

page.setup("Self Tuning", icon=":material/tune:")
page.sidebar_image()
image = page.require_image()

with st.sidebar:
    noise = calibrate.noise_choice()
    st.markdown("### Method")
    method = calibrate.method_choice()

st.title("Self Tuning")
st.caption(calibrate.INTRO)
clean, noisy, noisy_key, recipe = calibrate.noisy_input(image, noise)
st.caption(recipe + " · the link holds the image, the noise and its seed, and the method tuned")
found = calibrate.last_run(noisy, noisy_key, clean, method)
if found is not None:
    frame = calibrate.grid_table(found)
    calibrate.show_summary(found, clean is not None)
    calibrate.show_charts(found, frame)
    calibrate.show_result(found, noisy, noisy_key)
    with st.expander("Every setting tried"):
        st.dataframe(frame, hide_index=True, width="stretch")
    calibrate.show_downloads(found, frame, noisy_key, recipe)
calibrate.write_url(method)
