"""Views of the Pipeline page: the choices, the classifier and the route, the run, its stages and downloads."""
from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import streamlit as st

from denoise_core import pipeline, registry, speed
from denoise_core.methods import superres
from denoise_core.classifier.inference import WEIGHTS_FILE
from denoise_core.errors import DenoiseError

from . import cache, controls, noise_lab, page, state, units, views

AUTO = "automatic (classifier)"


class Choices(NamedTuple):
    """What the sidebar asks the pipeline for; empty or None: what the classifier and the rule table pick."""

    noise_type: str | None
    denoisers: tuple[str, ...]
    sharpen: dict | None
    sr: str | None
    sr_method: str


def added_noise() -> tuple[str, dict, int] | None:
    """The toggle "Add synthetic noise first", where one looks (under the title), and the noise to add in the
    sidebar: (model, parameters, seed), or None for an image used as it is. Off, and not offered, for an
    image marked already noisy."""
    clean = state.get(state.HAS_CLEAN)
    add = st.toggle("Add synthetic noise first", value=clean, key="w.pl.add", disabled=not clean,
                    help="On: the current image is taken as clean and made noisy here, so that every stage has "
                         "a PSNR against it. Off: the image goes in as it is, as a real noisy scan would"
                         if clean else "This image is marked already noisy (Home page): it goes in as it is")
    if not add:
        return None
    with st.sidebar:
        st.markdown("### Noise to add")
        return controls.noise_controls()


def choices() -> Choices:
    """The sidebar's overrides: noise type, denoisers, sharpening and super-resolution."""
    st.markdown("### Choices")
    noise_type = st.selectbox("Noise type", [AUTO, *pipeline.ROUTES], key="w.pl.type",
                              format_func=lambda kind: kind if kind == AUTO else controls.title(kind, "noise"),
                              help="Override the classifier: the rule table then routes this noise type "
                                   "(low-dose CT: scanner noise of a low-dose CT, which the classifier does not name)")
    denoisers = st.multiselect("Denoisers", registry.names("denoiser"), key="w.pl.denoisers",
                               format_func=controls.title,
                               placeholder="rule table", help="Run these in order instead of the rule table's choice")
    sharpen = None
    if st.toggle("Sharpen (unsharp mask)", value=False, key="w.pl.sharpen"):
        sharpen = controls.param_widgets(registry.get("unsharp_mask", "enhance"), {}, "pl")
    scale = st.selectbox("Super-resolution", ["none", *pipeline.SR_SCALES], key="w.pl.sr")
    sr_methods = registry.names("superres")
    sr_method = st.selectbox("Super-resolution method", sr_methods, key="w.pl.sr_method", format_func=controls.title,
                             index=sr_methods.index("realesrgan") if "realesrgan" in sr_methods else 0,
                             disabled=scale == "none")
    return Choices(None if noise_type == AUTO else noise_type, tuple(denoisers), sharpen,
                   None if scale == "none" else scale, sr_method)


def noisy_input(image: np.ndarray, noise: tuple[str, dict, int] | None) -> tuple[np.ndarray | None, np.ndarray, str]:
    """(clean image or None, the pipeline's input, its cache key): ``image`` with ``noise`` added, or as it is."""
    if noise is None:
        return None, image, state.get(state.IMAGE_HASH)
    model, params, seed = noise
    noisy = page.noisy_image(image, model, params, seed)
    st.caption(noise_lab.recipe_caption(model, params, seed))
    return image, noisy, noise_lab.noisy_id(model, params, seed)


def show_classification(classification: dict) -> None:
    """The classifier's probabilities, and how often it is right (its model card's confusion matrix)."""
    probabilities = {controls.title(k, "noise"): 100 * v for k, v in classification["probabilities"].items()}
    views.show_chart(views.bars(probabilities, title=f"Noise type: {controls.title(classification['type'], 'noise')} (probability, %)",
                                higher_is_better=True, fmt=".1f"), key="pl.probabilities")
    card = WEIGHTS_FILE.with_suffix(".md")
    if card.exists():
        with st.expander("How often is the classifier right? (confusion matrix on held-out images)"):
            st.markdown(views.markdown_section(card.read_text(), "## Measured"))


def show_route(classification: dict, chosen: Choices) -> None:
    """The estimated noise level and the route taken: the chosen denoisers or the rule table's, with why."""
    level = classification["level"]
    meta = state.get(state.IMAGE_META)
    st.metric("Estimated noise σ", units.sigma(level["sigma"], meta))
    st.metric("Estimated impulses", f"{100 * level['impulse']:.1f} %")
    noise_type = chosen.noise_type or classification["type"]
    chain = pipeline.plan(noise_type, list(chosen.denoisers) or None, meta.modality)
    st.markdown("**Route:** " + (" → ".join(controls.title(m) for m, _ in chain) or "no denoising"))
    st.caption(" · ".join(dict.fromkeys(why for _, why in chain)) or pipeline.ROUTES[noise_type].reason)


def show_sr_time(noisy: np.ndarray, chosen: Choices) -> None:
    """How long the chosen super-resolution takes on this image, before it is run."""
    if chosen.sr is None:
        return
    measured = speed.estimate(sr_speed_name(chosen.sr_method, chosen.sr), noisy.size)
    seconds = measured if measured is not None else page.guarded(superres.expected_seconds, noisy.shape,
                                                                  chosen.sr_method, {"scale": int(chosen.sr[1:])})
    source = "measured on this machine" if measured is not None else "a first estimate, refined once it has run here"
    st.info(f"Super-resolution {chosen.sr} with {controls.title(chosen.sr_method)} of this {noisy.shape[1]}×"
            f"{noisy.shape[0]} image: {speed.describe(seconds)} ({source}).", icon=":material/timer:")


def sr_speed_name(method: str, sr: str) -> str:
    """The name a super-resolution's speed is recorded under: the method and its factor (``realesrgan x4``)."""
    return f"{method} {sr}"


def record_speeds(result: pipeline.Result) -> None:
    """Each stage's seconds per sample, to estimate the next run (``speed``); the input of a stage is the
    output of the one before."""
    for before, stage in zip(result.stages, result.stages[1:]):
        name = sr_speed_name(stage.method, f"x{stage.params['scale']}") if stage.stage == "superres" else stage.method
        speed.record(name, before.image.size, stage.seconds)


def last_run(noisy: np.ndarray, noisy_key: str, chosen: Choices) -> pipeline.Result:
    """The run button, with progress; the last run of exactly these choices, else a line that asks for one and
    the page stops."""
    modality = state.get(state.IMAGE_META).modality
    settings = (noisy_key, chosen, modality)
    if st.button("Run the pipeline", type="primary", key="w.pl.run"):
        bar, cancel = st.progress(0.0, text="Starting…"), st.empty()
        cancel.button("Cancel", key="w.pl.cancel", icon=":material/stop:",
                      help="Stops the run at the next stage; nothing is kept")  # its click reruns the page
        result = page.guarded(pipeline.run, noisy, noise_type=chosen.noise_type,
                              denoisers=list(chosen.denoisers) or None, sharpen=chosen.sharpen, sr=chosen.sr,
                              sr_method=chosen.sr_method, modality=modality,
                              on_stage=lambda name, i, total: bar.progress(i / total, text=f"{name} ({i}/{total})…"))
        bar.empty()
        cancel.empty()
        record_speeds(result)
        state.put(state.PIPELINE_RUN, (settings, result))
    stored = state.get(state.PIPELINE_RUN)
    if not stored or stored[0] != settings:
        st.info(("Cancelled. " if st.session_state.get("w.pl.cancel") else "")
                + "Press **Run the pipeline** to run the route above.")
        st.stop()
    return stored[1]


def stage_keys(result: pipeline.Result) -> list[str]:
    """The cache key of each stage's image: its pixels, so it follows every choice."""
    return [state.content_hash(s.image) for s in result.stages]


def show_stages(result: pipeline.Result, keys: list[str], clean: np.ndarray | None) -> None:
    """One row per stage (method, why, parameters, time, size), with its PSNR when there is a clean image."""
    rows = [{"stage": s.stage, "method": controls.title(s.method), "why": s.reason,
             "parameters": controls.format_params(s.params), "seconds": round(s.seconds, 3),
             "size": f"{s.image.shape[1]}×{s.image.shape[0]}"} for s in result.stages]
    if clean is not None:
        for row, stage, key in zip(rows, result.stages, keys):
            if stage.image.shape == clean.shape:
                row["PSNR (dB)"] = round(page.guarded(cache.measure, state.get(state.IMAGE_HASH), clean, key,
                                                      stage.image)["psnr"], 2)
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(units.caption(state.get(state.IMAGE_META), psnr=clean is not None)
               + ("" if clean is not None else " No clean reference, so no PSNR per stage."))


def show_slider(result: pipeline.Result, keys: list[str]) -> None:
    """Two stages of the run, picked below, on either side of the before/after slider."""
    labels = [f"{i}. {s.stage}: {controls.title(s.method)}" for i, s in enumerate(result.stages)]
    a, b = st.columns(2)
    first = a.selectbox("Left of the slider", labels, index=0, key="w.pl.left")
    second = b.selectbox("Right of the slider", labels, index=len(labels) - 1, key="w.pl.right")
    shown = [views.as_rgb(page.screen(keys[i], result.stages[i].image)) for i in map(labels.index, (first, second))]
    side = max(u8.shape[0] for u8 in shown)  # a smaller stage beside a super-resolved one: enlarged, pixels kept
    shown = [views.magnify(u8, side // u8.shape[0]) for u8 in shown]
    views.compare_slider(shown[0], shown[1], first, second, key="pl.slider")


def show_downloads(result: pipeline.Result, keys: list[str], noise: tuple[str, dict, int] | None) -> None:
    """The final image in the current image's format, and the route with its parameters as JSON."""
    meta = state.get(state.IMAGE_META)
    label = cache.download_formats(meta)[0]
    suffix, _, mime = cache.DOWNLOADS[label]
    left, right = st.columns(2)
    deidentify = label == "DICOM" and controls.deidentify_toggle(meta, "w.deid.pl", container=left)
    noise_added = noise_lab.recipe_caption(*noise) if noise is not None else None
    source = "deidentified" if deidentify else state.get(state.SAMPLE) or meta.name
    record = {"input": {"image": source, "noise_added": noise_added}, **result.record()}
    try:
        final = cache.encode(keys[-1], result.image, label, meta, deidentify=deidentify)
        left.download_button(f"Final image ({label})", final, file_name=f"pipeline_result.{suffix}", mime=mime,
                             key="w.pl.download")
    except DenoiseError as exc:
        views.error_line(f"pipeline_result.{suffix}: {exc}")
    right.download_button("Route and parameters (JSON)", json.dumps(record, indent=2, default=str),
                          file_name="pipeline_record.json", mime="application/json", key="w.pl.record")
