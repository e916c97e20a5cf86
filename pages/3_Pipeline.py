"""Pipeline: classify the noise, pick the denoiser, sharpen and super-resolve, with no clean reference."""
import json

import streamlit as st

from denoise_core import pipeline, registry
from denoise_core.methods import superres
from denoise_core.classifier.inference import WEIGHTS_FILE
from denoise_core.errors import DenoiseError
from ui import cache, controls, noise_lab, page, state, units, views

page.setup("Pipeline", icon=":material/auto_fix_high:")
page.sidebar_image()
image = page.require_image()
has_clean = state.get(state.HAS_CLEAN)

with st.sidebar:
    if has_clean:
        add = st.toggle("Add synthetic noise first", value=True, key="w.pl.add",
                        help="The current image is clean: make it noisy here to try the pipeline on a "
                             "known noise, with PSNR against the clean image at every stage")
        if add:
            model, params, seed = controls.noise_controls()
    st.markdown("### Choices")
    auto = "automatic (classifier)"
    noise_type = st.selectbox("Noise type", [auto, *pipeline.ROUTES], key="w.pl.type",
                              format_func=lambda kind: kind if kind == auto else controls.title(kind),
                              help="Override the classifier: the rule table then routes this noise type "
                                   "(low-dose CT: scanner noise of a low-dose CT, which the classifier does not name)")
    denoisers = st.multiselect("Denoisers", registry.names("denoiser"), key="w.pl.denoisers",
                               format_func=controls.title,
                               placeholder="rule table", help="Run these in order instead of the rule table's choice")
    sharpen = st.toggle("Sharpen (unsharp mask)", value=False, key="w.pl.sharpen")
    sharpen_params = None
    if sharpen:
        sharpen_params = controls.param_widgets(registry.get("unsharp_mask", "enhance"), {}, "pl")
    scale = st.selectbox("Super-resolution", ["none", *pipeline.SR_SCALES], key="w.pl.sr")
    sr_methods = registry.names("superres")
    sr_method = st.selectbox("Super-resolution method", sr_methods, key="w.pl.sr_method", format_func=controls.title,
                             index=sr_methods.index("realesrgan") if "realesrgan" in sr_methods else 0,
                             disabled=scale == "none")

st.title("Pipeline")
st.caption("Upload a noisy scan (Home page), or add noise here: the classifier names the noise and its "
           "strength, a rule table picks the denoiser, then optional sharpening and super-resolution.")
clean = None
noisy, noisy_key = image, state.get(state.IMAGE_HASH)
if has_clean and add:
    clean = image
    noisy_key = noise_lab.noisy_id(model, params, seed)
    noisy = page.guarded(cache.add_noise, state.get(state.IMAGE_HASH), image, model, cache.freeze(params), seed)
    st.caption(noise_lab.recipe_caption(model, params, seed))

classification = page.guarded(cache.classify, noisy_key, noisy)
chosen_type = classification["type"] if noise_type == auto else noise_type
left, right = st.columns([3, 2])
with left:
    probabilities = {controls.title(k): 100 * v for k, v in classification["probabilities"].items()}
    views.show_chart(views.bars(probabilities, title=f"Noise type: {controls.title(classification['type'])} (probability, %)",
                                higher_is_better=True, fmt=".1f"), key="pl.probabilities")
    card = WEIGHTS_FILE.with_suffix(".md")
    if card.exists():
        with st.expander("How often is the classifier right? (confusion matrix on held-out images)"):
            st.markdown(views.markdown_section(card.read_text(), "## Measured"))
with right:
    level = classification["level"]
    st.metric("Estimated noise σ", units.sigma(level["sigma"], state.get(state.IMAGE_META)))
    st.metric("Estimated impulses", f"{100 * level['impulse']:.1f} %")
    modality = state.get(state.IMAGE_META).modality
    chain = pipeline.plan(chosen_type, list(denoisers) or None, modality)
    st.markdown("**Route:** " + (" → ".join(controls.title(m) for m, _ in chain) or "no denoising"))
    st.caption(" · ".join(dict.fromkeys(why for _, why in chain)) or pipeline.ROUTES[chosen_type].reason)

sr = None if scale == "none" else scale
if sr is not None:
    seconds = page.guarded(superres.expected_seconds, noisy.shape, sr_method)
    st.info(f"Super-resolution {sr} with {controls.title(sr_method)}: about {seconds:.0f} s on this CPU for a "
            f"{noisy.shape[1]}×{noisy.shape[0]} image.", icon=":material/timer:")

settings = (noisy_key, None if noise_type == auto else noise_type, tuple(denoisers),
            cache.freeze(sharpen_params) if sharpen_params is not None else None, sr, sr_method, modality)
if st.button("Run the pipeline", type="primary", key="w.pl.run"):
    bar = st.progress(0.0, text="Starting…")
    result = page.guarded(pipeline.run, noisy, noise_type=settings[1], denoisers=list(denoisers) or None,
                          sharpen=sharpen_params, sr=sr, sr_method=sr_method, modality=modality,
                          on_stage=lambda name, i, total: bar.progress(i / total, text=f"{name} ({i}/{total})…"))
    bar.empty()
    state.put(state.PIPELINE_RUN, (settings, result))
stored = state.get(state.PIPELINE_RUN)
if not stored or stored[0] != settings:
    st.info("Press **Run the pipeline** to run the route above.")
    st.stop()
result = stored[1]

rows = [{"stage": s.stage, "method": controls.title(s.method), "why": s.reason, "parameters": controls.format_params(s.params),
         "seconds": round(s.seconds, 3), "size": f"{s.image.shape[1]}×{s.image.shape[0]}"} for s in result.stages]
stage_keys = [state.content_hash(s.image) for s in result.stages]  # a stage's pixels: they follow every choice
if clean is not None:
    for row, stage, key in zip(rows, result.stages, stage_keys):
        if stage.image.shape == clean.shape:
            row["PSNR (dB)"] = round(page.guarded(cache.measure, state.get(state.IMAGE_HASH), clean, key,
                                                  stage.image)["psnr"], 2)
st.dataframe(rows, hide_index=True, width="stretch")
st.caption(units.caption(state.get(state.IMAGE_META), psnr=clean is not None)
           + ("" if clean is not None else " No clean reference, so no PSNR per stage."))

labels = [f"{i}. {s.stage}: {controls.title(s.method)}" for i, s in enumerate(result.stages)]
a, b = st.columns(2)
first = a.selectbox("Left of the slider", labels, index=0, key="w.pl.left")
second = b.selectbox("Right of the slider", labels, index=len(labels) - 1, key="w.pl.right")
shown = [views.as_rgb(page.screen(stage_keys[i], result.stages[i].image)) for i in map(labels.index, (first, second))]
side = max(u8.shape[0] for u8 in shown)  # a smaller stage beside a super-resolved one: enlarged, pixels kept
shown = [views.magnify(u8, side // u8.shape[0]) for u8 in shown]
views.compare_slider(shown[0], shown[1], first, second, key="pl.slider")

meta = state.get(state.IMAGE_META)
label = cache.download_formats(meta)[0]
suffix, _, mime = cache.DOWNLOADS[label]
left, right = st.columns(2)
deidentify = label == "DICOM" and controls.deidentify_toggle(meta, "w.deid.pl", container=left)
noise_added = noise_lab.recipe_caption(model, params, seed) if clean is not None else None
source = "deidentified" if deidentify else state.get(state.SAMPLE) or meta.name
record = {"input": {"image": source, "noise_added": noise_added}, **result.record()}
try:
    final = cache.encode(stage_keys[-1], result.image, label, meta, deidentify=deidentify)
    left.download_button(f"Final image ({label})", final, file_name=f"pipeline_result.{suffix}", mime=mime,
                         key="w.pl.download")
except DenoiseError as exc:
    views.error_line(f"pipeline_result.{suffix}: {exc}")
right.download_button("Route and parameters (JSON)", json.dumps(record, indent=2, default=str),
                      file_name="pipeline_record.json", mime="application/json", key="w.pl.record")
