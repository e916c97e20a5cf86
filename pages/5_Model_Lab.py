"""Model Lab: each learned denoiser's card, training curves, size, speed and feature maps; the published models
to download."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from denoise_core import registry, runner, weights
from denoise_core.methods import learned
from denoise_core.errors import DenoiseError
from denoise_core.models import parameter_count
from ui import page, state, views, zoo

page.setup("Model Lab", icon=":material/model_training:")
page.sidebar_image()
st.title("Model Lab")

with st.expander("Bring your own weights", icon=":material/upload:"):
    st.caption("A published DnCNN `.pth` (layouts `module.dncnn.N.*` or `model.N.*`, read with "
               "`weights_only=True`) or a `.safetensors` file written by `python -m denoise_core train`. "
               "It is converted into your cache folder and appears in every page as a learned denoiser; importing "
               "under the name of an earlier import replaces it.")
    upload = st.file_uploader("Weights file", type=["pth", "pt", "safetensors"], key="w.ml.upload")
    own_name = st.text_input("Name in the registry", value="my_dncnn", key="w.ml.upload_name")
    if upload is not None and st.button("Import", key="w.ml.import"):
        again = own_name.strip() in registry.names("denoiser")  # only earlier imported weights may be replaced
        entry = page.guarded(learned.import_upload, upload.getvalue(), upload.name, own_name.strip())
        st.session_state["w.ml.model"] = entry.name
        st.success(f"{'Replaced' if again else 'Imported'} {entry.name}: {entry.arch}, {entry.config}")

models = [m for m in registry.methods("denoiser") if m.family == "learned"]
missing = [e for e in page.guarded(weights.entries).values() if e.name not in {m.name for m in models}]
if missing:
    st.caption("Not installed: " + ", ".join(f"{e.name} ({weights.status(e)})" for e in missing))
offered = {published.name: published for published in zoo.downloadable()}
if not models:
    st.info("No learned denoiser is installed. Train one with `python -m denoise_core train --out weights/NAME`, "
            "upload your own above, use `python -m denoise_core weights import PATH --name NAME`, or download a "
            "published model from the list below.")
if not models and not offered:
    st.stop()

names = [m.name for m in models] + list(offered)
default = names.index(learned.DEFAULT_GRAY) if learned.DEFAULT_GRAY in names else 0
name = st.selectbox("Model", names, index=default, key="w.ml.model",
                    format_func=lambda n: f"{offered[n].title} — downloadable" if n in offered
                    else registry.get(n, "denoiser").title)
if name in offered:
    zoo.downloadable_card(offered[name], f"w.ml.fetch.{name}")
    st.stop()
method = registry.get(name, "denoiser")
entry = page.guarded(weights.get_entry, name)
network = page.guarded(runner.load, name)
published = weights.ZOO[name] if entry.source == "zoo" else None

left, middle, right = st.columns(3)
left.metric("Parameters", f"{parameter_count(network.model):,}")
middle.metric("Architecture", entry.arch)
right.metric("Trained for", entry.noise + (f" · {entry.modality}" if entry.modality else ""))
st.caption(f"{entry.title} · weights `{entry.file.name}` ({entry.source}) · sha256 `{entry.sha256[:12]}…`")

card_tab, curves_tab, speed_tab, maps_tab = st.tabs(["Model card", "Training curves", "CPU time", "Feature maps"])

with card_tab:
    counterparts = zoo.same_architecture(entry) if published is None else []
    if counterparts:
        st.info(f"A published model of the same architecture ({entry.arch}) is offered beside ours: "
                f"{', '.join(counterparts)}; pick it in the model list above.", icon=":material/compare:")
    if published is not None:
        page.guarded(zoo.fetched_card, published, entry)
    elif entry.card is not None:
        st.markdown(entry.card.read_text())
    else:
        st.info(f"No model card: expected {entry.file.with_suffix('.md').name} beside the weights.")

with curves_tab:
    log_path = entry.file.with_suffix(".csv")
    if published is not None:
        st.info("A published model: trained by its authors, so there is no training curve here; its card gives "
                "the paper's numbers.")
    elif log_path.exists():
        log = pd.read_csv(log_path).dropna(subset=["val_psnr"])
        figure = make_subplots(specs=[[{"secondary_y": True}]])
        figure.add_trace(go.Scatter(x=log["step"], y=log["train_loss"], name="training loss"), secondary_y=False)
        figure.add_trace(go.Scatter(x=log["step"], y=log["val_psnr"], name="validation PSNR (dB)"), secondary_y=True)
        figure.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="step",
                             legend=dict(orientation="h"))
        figure.update_yaxes(title_text="loss", secondary_y=False)
        figure.update_yaxes(title_text="PSNR (dB), held-out training images", secondary_y=True)
        st.plotly_chart(figure, width="stretch", key="ml.curves")
    else:
        st.info(f"No training log: expected {log_path.name} beside the weights.")

image = page.require_image()
sigma = 0.0
if entry.multiplicative:  # its level is relative: the map is this std times the local brightness
    sigma = st.slider("Speckle std √var given to the network", 0.0, 0.5, 0.2, 0.01, key="w.ml.speckle_std")
elif method.params:
    sigma = st.slider("Noise level σ given to the network (0–255 scale)", 0, 75, 25, key="w.ml.sigma") / 255

with speed_tab:
    st.caption(f"On the current image ({image.shape[1]}×{image.shape[0]}), "
               f"{torch.get_num_threads()} CPU threads, median of 3 runs after a warm-up.")
    if st.button("Time it", key="w.ml.time"):
        try:
            network(image, sigma)
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                network(image, sigma)
                runs.append(time.perf_counter() - start)
            state.put(state.MODEL_TIMING, (name, state.get(state.IMAGE_HASH), float(np.median(runs))))
        except DenoiseError as error:
            views.error_line(error)
    timed = state.get(state.MODEL_TIMING)
    if timed and timed[:2] == (name, state.get(state.IMAGE_HASH)):
        st.metric("CPU time", f"{timed[2]:.3f} s")

with maps_tab:
    layers = runner.conv_layers(network)
    layer = st.selectbox("Layer", layers, index=min(1, len(layers) - 1), key="w.ml.layer")
    small = image[:256, :256]
    try:
        maps = runner.feature_maps(network, small, layer, sigma, limit=16)
    except DenoiseError as error:
        views.error_line(error)
    else:
        st.caption(f"First {len(maps)} channels of {layer} on the top-left {small.shape[1]}×{small.shape[0]} "
                   "of the current image, each scaled to its own range.")
        columns = st.columns(4)
        for i, channel in enumerate(maps):
            columns[i % 4].image((channel * 255).astype(np.uint8), caption=f"channel {i}", width="stretch")
