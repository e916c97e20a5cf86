"""Views of the Model Lab: importing weights, choosing a model, its card, curves, CPU time and feature maps."""
from __future__ import annotations

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
from denoise_core.timing import timed

from . import classroom, controls, page, state, views, zoo

MODEL = "w.ml.model"  # the model picker, set to a model just imported


def import_box() -> None:
    """A weights file uploaded, converted into the cache folder and registered under the name typed."""
    if not classroom.lecturer_only("Importing weights"):
        return
    st.caption("A published DnCNN `.pth` (layouts `module.dncnn.N.*` or `model.N.*`, read with "
               "`weights_only=True`) or a `.safetensors` file written by `python -m denoise_core train`. "
               "It is converted into your cache folder and appears in every page as a learned denoiser; importing "
               "under the name of an earlier import replaces it.")
    upload = st.file_uploader("Weights file", type=["pth", "pt", "safetensors"], key="w.ml.upload")
    own_name = st.text_input("Name in the registry", value="my_dncnn", key="w.ml.upload_name")
    if upload is not None and st.button("Import", key="w.ml.import"):
        again = own_name.strip() in registry.names("denoiser")  # only earlier imported weights may be replaced
        entry = page.guarded(learned.import_upload, upload.getvalue(), upload.name, own_name.strip())
        st.session_state[MODEL] = entry.name
        st.success(f"{'Replaced' if again else 'Imported'} {entry.name}: {entry.arch}, {entry.config}")


def choose_model() -> str:
    """The model picker: the installed learned denoisers, then the published models to download. A published
    one shows its card and download button, and the page stops; so does a workbench with neither."""
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
    name = st.selectbox("Model", names, index=default, key=MODEL,
                        format_func=lambda n: f"{offered[n].title} — downloadable" if n in offered
                        else registry.get(n, "denoiser").title)
    if name in offered:
        zoo.downloadable_card(offered[name], f"w.ml.fetch.{name}")
        st.stop()
    return name


def show_overview() -> None:
    """Every learned denoiser, ours and the published ones, side by side with its PSNR measured here."""
    with st.expander("All models at a glance (ours and the published ones)", icon=":material/table:"):
        try:
            rows = weights.overview_rows()
        except DenoiseError as error:  # said once, as an error, by the model picker below
            st.caption(f"No overview: {error}")
            return
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height="content")
        st.caption("PSNR columns: mean dB measured here by the evaluation protocol (BENCHMARK.md), σ given; a blank "
                   "cell was not measured in that setting (the model's card gives its own settings' numbers).")


def show_summary(entry: weights.Entry, network: runner.Network) -> None:
    """Size, architecture and training noise of the model; its weights file and their hash."""
    left, middle, right = st.columns(3)
    left.metric("Parameters", f"{parameter_count(network.model):,}")
    middle.metric("Architecture", entry.arch)
    right.metric("Trained for", controls.title(entry.noise, "noise") + (f" · {entry.modality}" if entry.modality else ""))
    st.caption(f"{entry.title} · weights `{entry.file.name}` ({entry.source}) · sha256 `{entry.sha256[:12]}…`")


def show_card(entry: weights.Entry) -> None:
    """The model card: the paper's for a published model, else the Markdown beside the weights."""
    published = weights.ZOO[entry.name] if entry.source == "zoo" else None
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


def curves_figure(log: pd.DataFrame) -> go.Figure:
    """Training loss and validation PSNR against the step, from a training log (``<weights>.csv``)."""
    log = log.dropna(subset=["val_psnr"])
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=log["step"], y=log["train_loss"], name="training loss"), secondary_y=False)
    figure.add_trace(go.Scatter(x=log["step"], y=log["val_psnr"], name="validation PSNR (dB)"), secondary_y=True)
    figure.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="step",
                         legend=dict(orientation="h"))
    figure.update_yaxes(title_text="loss", secondary_y=False)
    figure.update_yaxes(title_text="PSNR (dB), held-out training images", secondary_y=True)
    return figure


def show_curves(entry: weights.Entry) -> None:
    """The training curves of a model trained here (none for a published model)."""
    log_path = entry.file.with_suffix(".csv")
    if entry.source == "zoo":
        st.info("A published model: trained by its authors, so there is no training curve here; its card gives "
                "the paper's numbers.")
    elif log_path.exists():
        st.plotly_chart(curves_figure(pd.read_csv(log_path)), width="stretch", key="ml.curves")
    else:
        st.info(f"No training log: expected {log_path.name} beside the weights.")


def noise_level(entry: weights.Entry, method: registry.Method, tab: str) -> float:
    """The noise level given to the network, from a slider in the tab ``tab`` when it takes one (0 when it is
    blind)."""
    if entry.multiplicative:  # its level is relative: the map is this std times the local brightness
        return st.slider("Speckle std √var given to the network", 0.0, 0.5, 0.2, 0.01, key=f"w.ml.speckle_std.{tab}")
    if method.params:
        return st.slider("Noise level σ given to the network (/255)", 0, 75, 25, key=f"w.ml.sigma.{tab}") / 255
    return 0.0


def show_timing(name: str, network: runner.Network, image: np.ndarray, sigma: float) -> None:
    """The CPU time of one call on the current image, measured when asked and kept for this model and image."""
    st.caption(f"On the current image ({image.shape[1]}×{image.shape[0]}), "
               f"{torch.get_num_threads()} CPU threads, median of 3 runs after a warm-up.")
    if st.button("Time it", key="w.ml.time"):
        try:
            _, seconds = timed(lambda: network(image, sigma), repeats=3)
            state.put(state.MODEL_TIMING, (name, state.get(state.IMAGE_HASH), seconds))
        except DenoiseError as error:
            views.error_line(error)
    measured = state.get(state.MODEL_TIMING)
    if measured and measured[:2] == (name, state.get(state.IMAGE_HASH)):
        st.metric("CPU time", f"{measured[2]:.3f} s")


def show_feature_maps(network: runner.Network, image: np.ndarray, sigma: float) -> None:
    """The first channels of a chosen layer on the top-left corner of the current image."""
    layers = runner.conv_layers(network)
    layer = st.selectbox("Layer", layers, index=min(1, len(layers) - 1), key="w.ml.layer")
    small = image[:256, :256]
    try:
        maps = runner.feature_maps(network, small, layer, sigma, limit=16)
    except DenoiseError as error:
        views.error_line(error)
        return
    st.caption(f"First {len(maps)} channels of {layer} on the top-left {small.shape[1]}×{small.shape[0]} "
               "of the current image, each scaled to its own range.")
    columns = st.columns(4)
    for i, channel in enumerate(maps):
        columns[i % 4].image((channel * 255).astype(np.uint8), caption=f"channel {i}", width="stretch")
