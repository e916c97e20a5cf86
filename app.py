"""Home of Denoise Workbench: what it is, and the image every page works on."""
import streamlit as st

from ui import bundles, image_input, page, state, units

page.setup(page.TITLE, icon=":material/blur_on:")

st.title("Denoise Workbench")
st.markdown(
    "Add noise of a known kind to an image and look at it: histograms, spectra, profiles.  \n"
    "Remove it with classical and learned denoisers side by side, measured with PSNR, SSIM and friends.  \n"
    "Everything runs on this machine, every setting is in the link, every result can be downloaded."
)

image, meta = page.current_image()
left, right = st.columns([1, 2], gap="large")
with left:
    st.markdown("##### Current image")
    if image is None:
        st.info("No image chosen yet.")
    else:
        st.image(page.screen(state.get(state.IMAGE_HASH), image), width="stretch")
        name = state.get(state.SAMPLE) or meta.name
        st.markdown(f"**{name}** · {meta.describe(image.shape)}")
        image_input.slice_picker()
        if not units.plain(meta):
            st.caption(f"Every number the workbench shows is measured on these data ({units.kind(meta)}), "
                       "never on the display window.")
        if meta.notes:
            st.caption(" · ".join(meta.notes))
        if not state.get(state.HAS_CLEAN):
            st.caption("Used as an already-noisy image: no clean reference, so no PSNR/SSIM.")
        st.page_link("pages/1_Noise_Lab.py", label="Add noise to it in the Noise Lab", icon=":material/grain:")
        st.page_link("pages/2_Denoise_and_Compare.py", label="Denoise it in Denoise & Compare",
                     icon=":material/compare:")
with right:
    image_input.upload_box()
    image_input.large_image_dialog()
    bundles.open_box()

st.divider()
st.markdown("#### Sample images")
image_input.gallery()

state.write_url(with_methods=False)
