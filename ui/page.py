"""What every page does first: page config, state, the shared link, the current image in the sidebar."""
from __future__ import annotations

import re
from pathlib import Path, PurePath

import numpy as np
import streamlit as st

from denoise_core import progress, samples, speed
from denoise_core.errors import DenoiseError
from denoise_core.image import MIN_SIDE, window_presets

from . import cache, classroom, controls, image_input, state, units, views

TITLE = "Denoise Workbench"


ROOT = Path(__file__).resolve().parents[1]
ICONS = {"app": ":material/home:", "Noise_Lab": ":material/grain:", "Denoise_and_Compare": ":material/compare:",
         "Pipeline": ":material/account_tree:", "Benchmark": ":material/leaderboard:", "Model_Lab": ":material/model_training:",
         "Self_Tuning": ":material/tune:", "Vote": ":material/how_to_vote:", "Challenge": ":material/emoji_events:",
         "Noise_Forensics": ":material/troubleshoot:", "Sweeps": ":material/ssid_chart:"}


def page_label(stem: str) -> str:
    """Menu label of a page file: "2_Denoise_and_Compare" -> "Denoise & Compare"."""
    words = stem.split("_", 1)[1] if stem.split("_", 1)[0].isdigit() and "_" in stem else stem
    return words.replace("_and_", " & ").replace("_", " ")


def pages() -> list[tuple[str, str, str]]:
    """(path, label, icon) of Home and every page in pages/, in menu order (new pages appear by themselves)."""
    found = sorted(ROOT.glob("pages/*.py"), key=lambda p: (int(p.stem.split("_")[0]) if p.stem.split("_")[0].isdigit()
                                                           else 10**6, p.stem))
    items = [("app.py", "Home", ICONS["app"])]
    for path in found:
        key = path.stem.split("_", 1)[1] if path.stem.split("_", 1)[0].isdigit() else path.stem
        items.append((f"pages/{path.name}", page_label(path.stem), ICONS.get(key, ":material/article:")))
    return items


PROJECTOR_CSS = "<style>.stApp {font-size: 1.15rem; color: #000;} .stApp p, .stApp li {font-size: 1.15rem;}</style>"


def nav() -> None:
    """The pages, and the projector theme's switch (its choice follows the session to every page)."""
    with st.sidebar:
        for path, label, icon in pages():
            st.page_link(path, label=label, icon=icon)
        state.seed_widget("w.projector", state.get(state.PROJECTOR))
        state.put(state.PROJECTOR, st.toggle("Projector (high contrast)", key="w.projector",
                                             help="Larger, black type and thicker chart lines for a lecture hall"))
        classroom.passcode_box()
        st.divider()
    if state.get(state.PROJECTOR):
        st.markdown(PROJECTOR_CSS, unsafe_allow_html=True)


def setup(title: str, icon: str = ":material/home:") -> None:
    """Configure the page, initialise state, apply a shared link and make sure an image is chosen."""
    st.set_page_config(page_title=f"{title} · {TITLE}" if title != TITLE else TITLE, page_icon=icon,
                       layout="wide")
    state.init()
    state.enter_page(title)
    state.apply_url(cache.load_sample, image_input.use_slice)
    nav()  # after the link has reset the widgets: the projector switch keeps its state
    ensure_image()
    notice = state.get(state.NOTICE)
    if notice:
        st.warning(notice, icon=":material/link:")
        state.put(state.NOTICE, None)


def ensure_image() -> None:
    """Load the first sample image when the session has none yet."""
    if state.get(state.IMAGE) is not None:
        return
    for name in (sample.name for sample in samples.samples()):
        try:
            image, meta = cache.load_sample(name)
        except DenoiseError:
            continue
        state.set_image(image, meta, sample=name)
        return


def current_image() -> tuple[np.ndarray | None, object]:
    return state.get(state.IMAGE), state.get(state.IMAGE_META)


def screen(image_key: str, image: np.ndarray) -> np.ndarray:
    """uint8 pixels of ``image`` for the screen, in the current image's display window."""
    return cache.display(image_key, image, state.display_bounds())


def sidebar_image() -> None:
    """The current image, small, in the sidebar, with where to change it."""
    image, meta = current_image()
    with st.sidebar:
        if image is None:
            st.info("No image yet: choose one on the Home page.")
            return
        name = state.get(state.SAMPLE) or meta.name
        st.markdown(f"**Image:** {name}")
        st.image(screen(state.get(state.IMAGE_HASH), image), width="stretch")
        st.caption(meta.describe(image.shape) + ("" if units.plain(meta) else f" · {units.value_map(meta)}")
                   + ("" if state.get(state.HAS_CLEAN) else " · already noisy, no clean reference"))
        image_input.slice_picker()
        if meta.window or not units.plain(meta):  # medical, 16-bit, volumes, any range but 0…255
            window_control(meta)
        st.page_link("app.py", label="Change image", icon=":material/image:")


def window_control(meta) -> None:
    """Display-window presets (CT lung, bone, ...; the file's own; custom) for medical, 16-bit and volume images.

    The choice applies to every panel of every page, so no method looks better through display
    scaling alone; metrics always use the data.
    """
    presets = window_presets(meta)
    options = [*presets, "Custom"]
    chosen = state.get(state.WINDOW)
    state.seed_widget("w.window", chosen[0] if chosen and chosen[0] in options else options[0])
    label = st.selectbox("Display window", options, key="w.window")
    if label == "Custom":
        centre, width = chosen[1] if chosen else presets[options[0]]
        centre = st.number_input("Window centre", value=float(centre), key="w.window.centre")
        width = st.number_input("Window width", value=float(width), min_value=1e-3, key="w.window.width")
        window = (centre, width)
    else:
        window = presets[label]
    state.put(state.WINDOW, (label, window))
    st.caption(f"C {window[0]:g} / W {window[1]:g} {meta.units or 'raw values'} · every panel uses this "
               "window; metrics use the data")


def download_stem(meta, deidentify: bool) -> str:
    """The start of the current image's download file names: its name reduced to letters, digits, ``.``,
    ``_`` and ``-`` (no folder), or ``"deidentified"`` when the download is (a name can carry the patient's)."""
    if deidentify:
        return "deidentified"
    name = PurePath(str(meta.name if meta is not None and meta.name else state.get(state.SAMPLE) or "image")).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit(".", 1)[0]).strip("._")[:80] or "image"


def require_image() -> np.ndarray:
    """The current image; without one, or with one smaller than ``MIN_SIDE`` (a downscaled strip), a line
    that says so and a link to Home, and the page stops."""
    image, meta = current_image()
    if image is None:
        st.info("Choose or upload an image on the Home page first.")
    elif min(image.shape[:2]) < MIN_SIDE:
        name = state.get(state.SAMPLE) or meta.name
        views.error_line(f"{name}: {image.shape[1]}×{image.shape[0]} pixels is smaller than the {MIN_SIDE}×{MIN_SIDE} "
                         "this page needs; choose or upload a larger image on Home")
    else:
        return image
    st.page_link("app.py", label="Go to Home", icon=":material/home:")
    st.stop()


def noisy_image(clean: np.ndarray, model: str, params: dict, seed: int) -> np.ndarray:
    """``clean`` with the chosen noise (cached). Noise that reports progress (CT's reconstruction) shows a bar
    with its expected time and a Cancel button; a cancelled noise stops the page with a line and a button to
    add it after all."""
    key = (state.get(state.IMAGE_HASH), model, cache.freeze(params), seed)
    name = controls.title(model, "noise")
    if state.get(state.NOISE_CANCELLED) == key:
        st.info(f"Cancelled: the {name} noise was not added.", icon=":material/stop:")
        st.button(f"Add the {name} noise after all", key="w.noise.resume", on_click=state.put,
                  args=(state.NOISE_CANCELLED, None))
        st.stop()
    shown: list = []

    def show(fraction: float) -> None:
        if not shown:
            expected = speed.estimate(f"noise {model}", clean.size)
            label = f"Adding {name} noise" + (f" ({speed.describe(expected)} on this machine)" if expected else "")
            shown.extend([st.progress(0.0, text=label), st.empty(), label])
            shown[1].button("Cancel", key="w.noise.cancel", icon=":material/stop:", on_click=state.put,
                            args=(state.NOISE_CANCELLED, key), help="Stops the noise; the page waits for another setting")
        shown[0].progress(fraction, text=f"{shown[2]}: {100 * fraction:.0f}%")

    with progress.listening(show):
        noisy = guarded(cache.add_noise, *key[:1], clean, *key[1:])
    for element in shown[:2]:
        element.empty()
    return noisy


def guarded(func, *args, **kwargs):
    """Call ``func``; a ``DenoiseError`` becomes one error line and stops the page."""
    try:
        return func(*args, **kwargs)
    except DenoiseError as exc:
        views.error_line(exc)
        st.stop()
