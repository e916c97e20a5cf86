"""Choosing the workbench's image: the sample gallery, the upload box and the large-image dialog."""
from __future__ import annotations

import cv2
import numpy as np
import streamlit as st

from denoise_core import image as core_image
from denoise_core import samples
from denoise_core.box import Box
from denoise_core.errors import DenoiseError, InvalidImageError

from . import cache, memo, state, views

MAX_SIDE = 1024
"""Images with a longer side are offered a downscale or a crop (never cut silently)."""
UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif", "dcm", "dicom", "npy", "nii", "nii.gz",
                "gz"]
"""Suffixes the upload box takes. Streamlit matches the end of the file name, so "nii.gz" takes
"scan.nii.gz"; "gz" is there too because some browsers' file pickers filter on the last suffix only
(a .gz that is not a NIfTI volume is refused by the reader with one line)."""
MEDICAL = {"xray", "x-ray", "cr", "dx", "ct", "mr", "mri", "us", "ultrasound", "pet", "medical"}


def downscale(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Area-average ``image`` so that its longer side is ``max_side`` (aspect kept), never making its
    shorter side smaller than the readers' minimum (a long strip keeps more than ``max_side``)."""
    height, width = image.shape[:2]
    ratio = max(max_side / max(height, width), core_image.MIN_SIDE / min(height, width))
    if ratio >= 1:
        return image
    size = (round(width * ratio), round(height * ratio))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def crop_center(image: np.ndarray, cx: float, cy: float, side: int = MAX_SIDE) -> np.ndarray:
    """The ``side``×``side`` (at most) crop centred at fractions (cx, cy) of the width and height."""
    height, width = image.shape[:2]
    h, w = min(side, height), min(side, width)
    y = int(round(cy * (height - h)))
    x = int(round(cx * (width - w)))
    return np.ascontiguousarray(image[y:y + h, x:x + w])


def is_medical(item) -> bool:
    modality = str(item.modality or "").lower()
    return modality in MEDICAL or any(word in modality for word in ("ray", "ct", "mr", "medical"))


def use_slice(index: int) -> None:
    """Make slice ``index`` (0-based) of the current volume the current image, keeping the display
    window and whether it has a clean reference. Raises ``DenoiseError`` (the image stays)."""
    sample, source = state.get(state.SAMPLE), state.get(state.SOURCE)
    if sample:
        image, meta = cache.load_sample(sample, index)
    elif source:
        image, meta = cache.read_upload(source["data"], source["name"], index)
    else:
        raise InvalidImageError("the other slices of this volume are not kept (it was downscaled or cropped); "
                                "upload it again and use the full image")
    state.set_image(image, meta, sample=sample, has_clean=state.get(state.HAS_CLEAN), source=source,
                    same_volume=True)


def _slice_moved() -> None:
    """Callback of the Slice slider: read the chosen slice; a failure is one error line, the image stays."""
    try:
        use_slice(int(st.session_state["w.slice"]) - 1)
    except DenoiseError as exc:
        state.put(state.SLICE_ERROR, f"Slice {st.session_state['w.slice']} could not be read: {exc}")


def slice_picker() -> None:
    """For a volume (NIfTI, multi-frame DICOM): a "Slice" slider, counted from 1 like a viewer, that
    re-reads that slice and makes it the current image on every page. Draws a pending slice error."""
    error = state.get(state.SLICE_ERROR)
    if error:
        st.error(error, icon=":material/error:")
        state.put(state.SLICE_ERROR, None)
    meta = state.get(state.IMAGE_META)
    count = state.slices(meta)
    if count <= 1:
        return
    current = state.slice_index(meta) + 1
    if not (state.get(state.SAMPLE) or state.get(state.SOURCE)):
        st.caption(f"Slice {current} of {count} (a downscaled or cropped volume: its other slices are not kept)")
        return
    state.force_widget("w.slice", current)  # follows the image when a link, preset or page changed it
    st.slider("Slice", 1, count, key="w.slice", on_change=_slice_moved, format=f"%d of {count}",
              help=f"This file is a volume of {count} slices; the workbench works on one at a time. "
                   "Every slice maps to [0, 1] the same way, so the display window stays.")


def _use_sample(name: str) -> None:
    try:
        image, meta = cache.load_sample(name)
    except DenoiseError as exc:
        state.put(state.NOTICE, f"Could not open sample '{name}': {exc}")
        return
    state.set_image(image, meta, sample=name)


@memo.cached()
def _thumbnail(name: str) -> np.ndarray:
    image, _ = cache.load_sample(name)
    return core_image.to_display(downscale(image, 256))


def gallery() -> None:
    """Sample images, natural and medical, each with a "Use" button."""
    items = samples.samples()
    groups = [("Natural images", [i for i in items if not is_medical(i)]),
              ("Medical images", [i for i in items if is_medical(i)])]
    current = state.get(state.SAMPLE)
    for heading, members in groups:
        if not members:
            continue
        st.markdown(f"##### {heading}")
        columns = st.columns(min(6, max(4, len(members))))
        for i, item in enumerate(members):
            name = item.name
            with columns[i % len(columns)]:
                try:
                    st.image(_thumbnail(name), width="stretch")
                except DenoiseError as exc:
                    st.caption(f"{name}: {exc}")
                    continue
                st.caption(item.description or name)
                chosen = name == current
                st.button("In use" if chosen else f"Use {name}", key=f"w.sample.{name}", on_click=_use_sample,
                          args=(name,), disabled=chosen, width="stretch",
                          type="primary" if chosen else "secondary")


def upload_box() -> None:
    """Upload an image; large ones wait for a downscale/crop decision."""
    st.markdown("##### Your own image")
    upload = st.file_uploader("PNG, JPEG, TIFF (8/16-bit), BMP, WebP, GIF, DICOM, NIfTI volume or NumPy .npy",
                              type=UPLOAD_TYPES, key="w.upload", help="Stays on this machine: nothing is sent anywhere")
    choices = ["clean: add synthetic noise to it", "already noisy: no clean reference"]
    state.seed_widget("w.upload.reference", choices[not state.get(state.HAS_CLEAN)])  # the current image's choice
    reference = st.radio("This image is", choices, key="w.upload.reference", horizontal=True,
                         help="Without a clean reference the workbench cannot compute PSNR or SSIM; "
                              "it shows what can be measured without one")
    has_clean = reference.startswith("clean")
    if upload is None:
        return
    data = upload.getvalue()
    token = (upload.name, len(data), has_clean)
    if state.get(state.UPLOAD_TOKEN) == token:
        return  # already taken in
    try:
        image, meta = cache.read_upload(data, upload.name)
    except DenoiseError as exc:
        views.error_line(exc)
        return
    state.put(state.UPLOAD_TOKEN, token)
    source = {"name": upload.name, "data": data} if state.slices(meta) > 1 else None  # to read other slices
    if max(image.shape[:2]) > MAX_SIDE:
        state.put(state.PENDING, {"image": image, "meta": meta, "has_clean": has_clean, "source": source})
    else:
        state.set_image(image, meta, sample=None, has_clean=has_clean, source=source)
    st.rerun()  # redraw the page around the new image


def large_image_dialog() -> None:
    """A large upload: offer downscale or crop (or full size, with a warning); never cut silently."""
    pending = state.get(state.PENDING)
    if not pending:
        return
    image, meta = pending["image"], pending["meta"]
    height, width = image.shape[:2]
    with st.container(border=True):
        st.warning(f"This image is {width}×{height} ({width * height / 1e6:.1f} megapixels). Slow methods such as "
                   f"BM3D and NLM take minutes at this size: downscale it or work on a crop.", icon=":material/photo_size_select_large:")
        choice = st.radio("Use", [f"downscale to {MAX_SIDE} px on the longer side",
                                  f"a {min(MAX_SIDE, width)}×{min(MAX_SIDE, height)} crop", "the full image (slow)"],
                          key="w.large.choice", horizontal=True)
        if choice.startswith("a "):
            left, right = st.columns(2)
            cx = left.slider("Crop centre, horizontal", 0.0, 1.0, 0.5, 0.01, key="w.large.cx")
            cy = right.slider("Crop centre, vertical", 0.0, 1.0, 0.5, 0.01, key="w.large.cy")
            result = crop_center(image, cx, cy)
            h, w = result.shape[:2]
            y, x = int(round(cy * (height - h))), int(round(cx * (width - w)))
            shrink = min(1.0, 1024 / max(height, width))
            preview = views.mark(core_image.to_display(downscale(image, 1024)),
                                 Box(*(round(v * shrink) for v in (y, x, h, w))))
            st.image(preview, caption="Crop region", width=512)
        elif choice.startswith("downscale"):
            result = downscale(image)
        else:
            result = image
        if st.button("Use this image", type="primary", key="w.large.apply"):
            state.set_image(np.ascontiguousarray(result, dtype=np.float32), meta, sample=None,
                            has_clean=pending["has_clean"],  # other slices only for the full-size image
                            source=pending.get("source") if result is image else None)
            st.rerun()
