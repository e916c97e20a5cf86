"""Views of the Noise Forensics page: the settings, the verdict, the mean–variance scatter with its fitted models,
the residual histogram with its densities, the spectrum and autocorrelation, the classifier and its confusion
matrix, and the downloads."""
from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from denoise_core import forensics
from denoise_core.benchmark.charts import line_chart
from denoise_core.errors import DenoiseError
from denoise_core.forensics import confusion, distributions, variance

from . import cache, controls, noise_lab, page, state, units, views

REFS = {"clean": "Clean reference: noisy − clean", "smooth": "No reference: noisy − smooth estimate"}
MODEL_TITLES = {"additive": "additive (flat)", "poisson": "Poisson (linear)", "speckle": "speckle (quadratic)",
                "rician": "Rician (floor in the dark)", "gaussian": "Gaussian", "laplacian": "Laplacian",
                "impulse": "impulse (core + spikes at 0/1)"}
MAX_POINTS = 4000  # blocks drawn on the scatter; the fits use them all


def apply_link() -> None:
    """Apply the link's forensics settings (``fx.*``), and say at once what of it could not be applied."""
    state.apply_forensics_url()
    if state.get(state.NOTICE):
        st.warning(state.get(state.NOTICE), icon=":material/link:")
        state.put(state.NOTICE, None)


def settings() -> dict:
    """The sidebar's settings (stored in ``ui.state``): the residual's reference, the block side, the log axis. An
    image without a clean reference is measured against the smooth estimate, and the stored reference stays."""
    chosen = dict(state.forensics_settings())
    has_clean = state.get(state.HAS_CLEAN)
    if has_clean:
        state.seed_widget("w.fx.ref", chosen["ref"])
    else:
        state.force_widget("w.fx.ref", "smooth")
    chosen["ref"] = st.radio("Residual", state.FORENSICS_REFS, format_func=REFS.get, key="w.fx.ref",
                             disabled=not has_clean,
                             help="Against the clean image when there is one; else against a smooth estimate "
                                  f"({forensics.SMOOTH_NAME}), as for a real noisy photograph")
    state.seed_widget("w.fx.block", chosen["block"])
    chosen["block"] = st.select_slider("Block side (pixels)", state.FORENSICS_BLOCKS, key="w.fx.block",
                                       help="The mean–variance scatter measures one point per block")
    state.seed_widget("w.fx.log", chosen["log"])
    chosen["log"] = st.toggle("Histogram on a log scale", key="w.fx.log", help="Shows the tails: impulses, outliers")
    state.put(state.FORENSICS, chosen if has_clean else {**chosen, "ref": state.forensics_settings()["ref"]})
    return chosen


def inputs(image: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, str, str]:
    """(clean image or None, noisy image, its cache key, the noise recipe): the current image with the Noise
    Lab's noise (chosen in the sidebar), or the image itself when it has no clean reference."""
    if not state.get(state.HAS_CLEAN):
        return None, image, state.get(state.IMAGE_HASH), "the image as it is (already noisy, no clean reference)"
    with st.sidebar:
        st.markdown("### Noise")
        model, params, seed = controls.noise_controls()
    noisy = page.guarded(cache.add_noise, state.get(state.IMAGE_HASH), image, model, cache.freeze(params), seed)
    return image, noisy, noise_lab.noisy_id(model, params, seed), noise_lab.recipe_caption(model, params, seed)


@st.cache_data(max_entries=32, show_spinner="Measuring the noise…")
def analyse(noisy_key: str, _noisy: np.ndarray, _clean: np.ndarray | None, use_clean: bool, block: int):
    """``forensics.analyse`` of the noisy image ``noisy_key``, against its clean image when ``use_clean``."""
    return forensics.analyse(_noisy, _clean if use_clean else None, block=block)


@st.cache_data(show_spinner="Measuring the classifier on held-out images (once)…")
def held_out_confusion() -> dict:
    return confusion.held_out_confusion()


def show_verdict(report: forensics.Report, recipe: str) -> None:
    meta = state.get(state.IMAGE_META)
    line = forensics.verdict(report, lambda v: units.sigma(v, meta))
    if report.kind == "unmeasured":
        st.info(line, icon=":material/troubleshoot:")
    else:
        st.success(f"**{controls.title(report.kind, 'noise')}**: {line}", icon=":material/troubleshoot:")
    st.caption(f"Noise: {recipe} · residual against {report.estimate} · {units.measured_on(meta)}")


def scatter_figure(report: forensics.Report) -> go.Figure:
    """Block variance against block mean: every block (grey), the flat ones kept (blue), their bin means with
    standard errors (black) and each model's fitted curve, the winner thickest."""
    blocks, binned = report.blocks, report.binned
    rng = np.random.default_rng(0)
    fig = go.Figure()
    for name, chosen, colour in (("all blocks", ~blocks.kept, "#bbbbbb"), ("flat blocks (fitted)", blocks.kept,
                                                                          views.SERIES[5])):
        index = np.flatnonzero(chosen)
        index = rng.choice(index, min(len(index), MAX_POINTS), replace=False) if len(index) else index
        fig.add_trace(go.Scattergl(x=blocks.mean[index], y=blocks.variance[index], mode="markers", name=name,
                                   marker=dict(size=3, color=colour, opacity=0.5)))
    fig.add_trace(go.Scatter(x=binned.mean, y=binned.variance, mode="markers", name="bin mean ± s.e.",
                             marker=dict(size=8, color="#000000"),
                             error_y=dict(type="data", array=binned.error, visible=True)))
    winner = next(iter(report.fits))
    for number, fit in enumerate(report.fits.values()):
        fig.add_trace(go.Scatter(x=fit.curve[0], y=fit.curve[1], mode="lines", name=MODEL_TITLES[fit.model],
                                 line=dict(width=4 if fit.model == winner else 2, color=views.SERIES[number],
                                           dash=None if fit.model == winner else "dash")))
    top = float(np.max(binned.variance + binned.error, initial=1e-6)) * 1.6
    fig.update_yaxes(range=[0, top])
    return views.layout(fig, height=420, title="Local mean–variance", xaxis_title="block mean (intensity, [0, 1])",
                        yaxis_title="residual variance ([0, 1]²)")


def _value(name: str, value: float, error: float | None = None) -> str:
    """A parameter as the page writes it: standard deviations as ``units.sigma`` does (σ in /255)."""
    if "sigma" in name:
        meta = state.get(state.IMAGE_META)
        return f"{name} = {units.sigma(value, meta)}" + ("" if error is None else f" ± {units.sigma(error, meta)}")
    return f"{name} = " + (f"{value:.4g}" if error is None else forensics.plus_minus(value, error))


def fits_table(report: forensics.Report) -> pd.DataFrame:
    rows = [{"model": MODEL_TITLES[fit.model], "formula": fit.formula,
             "parameters": ", ".join(_value(k, v, fit.errors[k]) for k, v in fit.params.items()),
             "χ²": fit.chi2, "AIC": fit.aic, "BIC": fit.bic} for fit in report.fits.values()]
    return pd.DataFrame(rows)


def show_scatter(report: forensics.Report) -> None:
    views.show_chart(scatter_figure(report), key="fx.scatter")
    st.dataframe(fits_table(report), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.1f") for k in ("χ²", "AIC", "BIC")})
    st.caption(f"One point per block; in each of {variance.BINS} intensity bins the flattest "
               f"{100 * variance.FLAT_SHARE:.0f}% of the blocks (by the spread of the clean image, or of the smooth "
               "estimate) are fitted, so edges stay out. Each model is seen through the clipping to [0, 1]. The "
               "first row wins: lowest BIC, unless a simpler model (fewer parameters; additive before Rician) is within "
               f"{variance.BIC_MARGIN:g}. Uncertainties: standard errors of the weighted least squares.")


def histogram_figure(report: forensics.Report, log: bool) -> go.Figure:
    counts = report.counts
    density = counts / (counts.sum() * distributions.WIDTH)
    spread = report.densities["gaussian"].params["sigma"]
    impulses = report.kind == "salt_pepper"
    reach = 1.0 if impulses else min(1.0, max(5 * spread, 0.05))
    inside = np.abs(distributions.CENTRES) <= reach
    edges = distributions.EDGES[np.concatenate([inside, [False]]) | np.concatenate([[False], inside])]
    lines = [(MODEL_TITLES[d.model], distributions.CENTRES[inside], d.pdf[inside]) for d in report.densities.values()]
    fig = views.histogram_figure([("residual", edges, density[inside])], lines=lines, height=380,
                                 title="Residual histogram and fitted densities", xaxis="residual ([0, 1] units)")
    for number, trace in enumerate(fig.data[1:]):
        trace.line.color = views.SERIES[number]
    if log:
        shown = density[inside][density[inside] > 0]
        low = np.log10(shown.min()) - 1 if shown.size else -3
        fig.update_yaxes(type="log", range=[low, np.log10(max(density.max(), 1e-12)) + 0.3])
    return fig


def show_histogram(report: forensics.Report, log: bool) -> None:
    views.show_chart(histogram_figure(report, log), key="fx.histogram")
    rows = [{"density": MODEL_TITLES[d.model],
             "parameters": ", ".join(_value(k, v) for k, v in d.params.items()),
             "KS distance": d.ks, "log-likelihood / pixel": d.loglik} for d in report.densities.values()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"KS distance": st.column_config.NumberColumn(format="%.4f"),
                                "log-likelihood / pixel": st.column_config.NumberColumn(format="%.3f")})
    st.caption("Best first (highest log-likelihood per pixel, over bins 1/400 wide). KS: the largest gap between "
               "the residual's cumulative histogram and the density's (0 = identical). The impulse density is a "
               "Gaussian core plus spikes where a pixel at 0 or 1 replaced its value; its fraction counts the "
               "impulses that landed on pixels already near 0 or 1 too.")


def show_spectrum(report: forensics.Report) -> None:
    spec, grid = report.spectrum, report.grid
    left, middle, right = st.columns(3)
    with left:
        views.show_chart(views.heatmap_figure(spec.power, title="log10 power spectrum of the residual",
                                              colorbar="log10 P"), key="fx.spectrum")
    with middle:
        fig = views.heatmap_figure(spec.autocorrelation, title=f"Autocorrelation, shifts ±{len(spec.autocorrelation) // 2}",
                                   colorscale="RdBu_r", colorbar="ρ")
        fig.update_traces(zmid=0)
        views.show_chart(fig, key="fx.autocorrelation")
    with right:
        views.show_chart(views.lines_figure([("rows", np.arange(8), grid.jumps[0]), ("columns", np.arange(8), grid.jumps[1])],
                                            title="Mean jump per offset modulo 8", xaxis="offset (pixels)",
                                            yaxis="mean |neighbour difference|"), key="fx.grid")
    views.show_chart(views.lines_figure([("residual", spec.frequency, spec.radial)], title="Radially averaged spectrum",
                                        xaxis="frequency (cycles/pixel)", yaxis="log10 power", height=260),
                     key="fx.radial")
    c = st.columns(3)
    c[0].metric("Spectral flatness", f"{spec.flatness:.3f}",
                help=f"Geometric over arithmetic mean of the radial power above {spec.low_cut} cycles/pixel: 1 = white")
    c[1].metric("Neighbour correlation", f"{spec.neighbour:.3f}",
                help="The largest autocorrelation one or two pixels away: about 0 for white noise")
    c[2].metric("JPEG 8×8 grid", "detected" if grid.detected else "not detected",
                help=f"Jumps at the strongest offset ×{grid.ratios[0]:.3g} (rows), ×{grid.ratios[1]:.3g} (columns) "
                     f"the median offset's; detected when both reach ×{grid.threshold:.3g}, in the "
                     + ("residual" if report.has_reference else "noisy image"))


def matrix_figure(doc: dict) -> go.Figure:
    """The confusion matrix, rows normalised (the share of each true class given each prediction), in percent."""
    titles = [controls.title(c, "noise") for c in doc["classes"]]
    shares = 100 * confusion.normalised(np.array(doc["matrix"]))
    fig = go.Figure(go.Heatmap(z=shares, x=titles, y=titles, colorscale="Blues", zmin=0, zmax=100,
                               text=np.round(shares).astype(int), texttemplate="%{text}", colorbar=dict(title="%")))
    fig.update_yaxes(autorange="reversed", title="true noise")
    fig.update_xaxes(title="predicted")
    return views.layout(fig, height=420, title=f"Confusion on held-out {doc['held_out']}: {100 * doc['accuracy']:.1f}% right")


def show_classifier(noisy_key: str, noisy: np.ndarray) -> None:
    """The classifier's probabilities (or the one line saying why it cannot run) beside its confusion matrix."""
    left, right = st.columns([2, 3])
    with left:
        try:
            classification = cache.classify(noisy_key, noisy)
        except DenoiseError as exc:  # an image below the classifier's 32×32: the rest of the page still holds
            st.info(str(exc), icon=":material/info:")
        else:
            probabilities = {controls.title(k, "noise"): 100 * v for k, v in classification["probabilities"].items()}
            views.show_chart(views.bars(probabilities, higher_is_better=True, fmt=".1f",
                                        title=f"Classifier: {controls.title(classification['type'], 'noise')} (%)"),
                             key="fx.probabilities")
    with right:
        doc = page.guarded(held_out_confusion)
        views.show_chart(matrix_figure(doc), key="fx.confusion")
        st.caption(f"{doc['per_class']} crops of {doc['crop']}² pixels per class from {', '.join(doc['images'])}, "
                   f"noise drawn from the classifier's evaluation ranges, seed {doc['seed']}; the classifier was "
                   f"trained on train400 only. Made by `{doc['command']}`.")


def _png(lines: dict, title: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return line_chart(lines, title, Path(folder) / "chart.png").read_bytes()


def scatter_png(report: forensics.Report) -> bytes:
    """The binned scatter and every fitted curve as a PNG (``benchmark.charts.line_chart``)."""
    lines = {"bins": list(zip(report.binned.mean, report.binned.variance))}
    for fit in report.fits.values():
        step = max(1, len(fit.curve[0]) // 30)
        lines[fit.model] = list(zip(fit.curve[0][::step], fit.curve[1][::step]))
    return _png(lines, "Residual variance against block mean")


def show_downloads(report: forensics.Report, stem: str) -> None:
    meta = state.get(state.IMAGE_META)
    summary = forensics.summary(report, lambda v: units.sigma(v, meta))
    histogram = pd.DataFrame({"residual": distributions.CENTRES, "count": report.counts,
                              **{d.model: d.pdf for d in report.densities.values()}})
    c = st.columns(5)
    c[0].download_button("Fits (CSV)", pd.DataFrame(forensics.fit_rows(report)).to_csv(index=False).encode(),
                         f"{stem}_forensics_fits.csv", mime="text/csv", key="w.fx.dl.fits")
    c[1].download_button("Everything (JSON)", json.dumps(summary, indent=1).encode(), f"{stem}_forensics.json",
                         mime="application/json", key="w.fx.dl.json")
    scatter = io.StringIO()
    pd.DataFrame({"mean": report.blocks.mean, "variance": report.blocks.variance,
                  "kept": report.blocks.kept}).to_csv(scatter, index=False)
    c[2].download_button("Block scatter (CSV)", scatter.getvalue().encode(), f"{stem}_forensics_blocks.csv",
                         mime="text/csv", key="w.fx.dl.blocks")
    c[3].download_button("Histogram and densities (CSV)", histogram.to_csv(index=False).encode(),
                         f"{stem}_forensics_histogram.csv", mime="text/csv", key="w.fx.dl.histogram")
    c[4].download_button("Mean–variance figure (PNG)", scatter_png(report), f"{stem}_forensics_scatter.png",
                         mime="image/png", key="w.fx.dl.png")
    st.caption("Every chart also downloads as a PNG from its camera icon.")
