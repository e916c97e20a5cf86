"""Views of the Self Tuning page: a classical denoiser tuned on the noisy image alone (``denoise_core.calibrate``),
its self-supervised loss over the grid beside the true PSNR, the oracle and the ``auto`` rule."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from denoise_core import calibrate as core, registry
from denoise_core.benchmark.charts import line_chart
from denoise_core.errors import DenoiseError, one_line

from . import cache, controls, noise_lab, page, state, units, views

INTRO = ("Tune a classical denoiser with no clean image: each parameter setting denoises the noisy image with one "
         "pixel in 16 hidden (replaced by its neighbours' mean), and is scored by how well it predicts those hidden "
         "noisy pixels (J-invariance, Batson and Royer 2019). With zero-mean noise that is independent from pixel "
         "to pixel, that score ranks the settings as the true error does. With a clean reference the true PSNR of "
         "every setting is drawn beside it, so you can see how close the self-tuned choice gets to the best one.")
DEFAULT = "nlm"
COMPARE_PAGE = "pages/2_Denoise_and_Compare.py"


def methods() -> list[str]:
    """The classical denoisers that have something to tune, in registry order."""
    out = []
    for method in registry.methods("denoiser", "classical"):
        try:
            core.tuned_params(method)
        except DenoiseError:
            continue
        out.append(method.name)
    return out


def method_choice() -> str:
    """The method picker (sidebar); a link's ``cal=`` that names no tunable method falls back to the default."""
    names = methods()
    chosen = state.get(state.CALIBRATE_METHOD)
    if chosen not in names:
        if chosen != DEFAULT:
            st.warning(f"'{one_line(chosen, 40)}' in the link is not a classical method with something to tune; showing "
                       f"{controls.title(DEFAULT)}", icon=":material/link:")
        chosen = DEFAULT if DEFAULT in names else names[0]
    state.seed_widget("w.cal.method", chosen)
    method = st.selectbox("Method to tune", names, key="w.cal.method", format_func=controls.title,
                          help="A classical denoiser; what it varies comes from its parameter schema")
    state.put(state.CALIBRATE_METHOD, method)
    tuned = core.tuned_params(registry.get(method, "denoiser"))
    st.caption("Tunes " + " and ".join(f"**{p.name}**" for p in tuned) + " over its range; the other parameters "
               "keep their 'auto' values.")
    return method


def noise_choice() -> tuple[str, dict, int] | None:
    """The noise added to the current image (sidebar), or None for an image marked already noisy."""
    if not state.get(state.HAS_CLEAN):
        st.caption("The image is already noisy: it is tuned on as it is, with no clean reference.")
        return None
    st.markdown("### Noise")
    return controls.noise_controls()


def noisy_input(image: np.ndarray, noise: tuple[str, dict, int] | None) -> tuple[np.ndarray | None, np.ndarray, str, str]:
    """(clean image or None, the noisy image, its cache key, its recipe): ``image`` with ``noise``, or as it is."""
    if noise is None:
        return None, image, state.get(state.IMAGE_HASH), "input used as is (no clean reference)"
    model, params, seed = noise
    noisy = page.guarded(cache.add_noise, state.get(state.IMAGE_HASH), image, model, cache.freeze(params), seed)
    return image, noisy, noise_lab.noisy_id(model, params, seed), noise_lab.recipe_caption(model, params, seed)


def last_run(noisy: np.ndarray, noisy_key: str, clean: np.ndarray | None, method: str) -> core.Calibration | None:
    """The run button, with progress and Cancel; the last tuning of exactly these settings, else None."""
    settings = (noisy_key, method, clean is not None)
    title = controls.title(method)
    if st.button(f"Tune {title} on the noisy image", type="primary", key="w.cal.run"):
        state.put(state.CANCELLED, False)
        bar, cancel = st.progress(0.0, text="Starting…"), st.empty()
        cancel.button("Cancel", key="w.cal.cancel", icon=":material/stop:", on_click=state.put,
                      args=(state.CANCELLED, True), help="Stops the tuning; nothing is kept")
        found = page.guarded(core.calibrate, noisy, method, clean=clean, cancel=lambda: state.get(state.CANCELLED),
                             progress=lambda done, total: bar.progress(
                                 min(done / total, 1.0), text=f"{title}: setting {done} of about {total}…"))
        bar.empty()
        cancel.empty()
        if found is not None:
            state.put(state.CALIBRATION, (settings, found))
    if state.get(state.CANCELLED):  # said once, here: the flag is shared with the other pages' runs
        state.put(state.CANCELLED, False)
        st.info("Cancelled: nothing kept.", icon=":material/stop:")
    stored = state.get(state.CALIBRATION)
    if stored and stored[0] == settings:
        return stored[1]
    coarse = len(core.grid(registry.get(method, "denoiser")))
    st.info(f"Press **Tune {title} on the noisy image**: {coarse} settings over the range, then a few finer ones, "
            "each one denoising the image "
            + ("three times (two masked copies for the score, the whole image for the true PSNR)." if clean is not None
               else "twice (two masked copies for the score)."))
    return None


def show_summary(found: core.Calibration, has_clean: bool) -> None:
    """The self-tuned choice beside the oracle's and the ``auto`` rule's, with their PSNR when there is a reference."""
    meta = state.get(state.IMAGE_META)
    label = lambda params: core.point_label(params, found.tuned)  # noqa: E731
    columns = st.columns(3)
    columns[0].metric("Self-tuned (noisy image alone)", f"{found.chosen_psnr:.2f} dB" if has_clean else "—",
                      delta=f"{found.chosen_psnr - found.oracle_psnr:+.2f} dB vs oracle" if has_clean else None,
                      delta_color="off", help="The setting of least self-supervised loss")
    columns[0].caption(label(found.chosen))
    columns[1].metric("Oracle (best true PSNR tried)", f"{found.oracle_psnr:.2f} dB" if has_clean else "—",
                      help="Needs the clean image: what no tuning on the noisy image can beat on this grid")
    columns[1].caption(label(found.oracle) if has_clean else "needs a clean reference")
    columns[2].metric("'auto' rule (blind noise estimate)", f"{found.auto_psnr:.2f} dB" if has_clean else "—",
                      delta=f"{found.chosen_psnr - found.auto_psnr:+.2f} dB self-tuned vs auto" if has_clean else None,
                      delta_color="off", help="What Denoise & Compare picks with 'auto' on")
    columns[2].caption(f"{label(found.auto)} · from estimated σ {units.sigma(found.level['sigma'], meta)}, "
                       f"impulses {100 * found.level['impulse']:.1f}%")


def grid_table(found: core.Calibration) -> pd.DataFrame:
    """The grid as a table, sorted by the tuned values: each point's loss (and true PSNR), and which it is."""
    frame = pd.DataFrame(found.grid).sort_values(list(found.tuned), kind="stable").reset_index(drop=True)
    marks = {"chosen": found.chosen, "oracle": found.oracle, "auto": found.auto}
    frame["is"] = [", ".join(name for name, params in marks.items() if params is not None
                             and all(row[k] == params[k] for k in found.tuned)) for row in frame.to_dict("records")]
    return frame


def _axes(found: core.Calibration, frame: pd.DataFrame) -> tuple[str, list[tuple[str, pd.DataFrame]]]:
    """The x parameter (the first tuned) and the lines: one, or one per value of the second tuned parameter."""
    x = found.tuned[0]
    if len(found.tuned) == 1:
        return x, [(registry.get(found.method, "denoiser").title, frame)]
    other = found.tuned[1]
    return x, [(f"{other}={value:.4g}", group) for value, group in frame.groupby(other, sort=True)]


def _marks(found: core.Calibration, frame: pd.DataFrame, score: str, factor: float) -> list[tuple[str, float, float, str]]:
    """The self-tuned and (with a reference) the oracle's point on the chart of ``score`` (× ``factor``)."""
    marks = [("self-tuned", found.chosen, "star"), ("oracle", found.oracle, "diamond")]
    out = []
    for name, params, symbol in marks:
        if params is None:
            continue
        row = frame[np.logical_and.reduce([frame[k] == params[k] for k in found.tuned])].iloc[0]
        out.append((name, float(row[found.tuned[0]]), float(row[score]) * factor, symbol))
    return out


def figures(found: core.Calibration, frame: pd.DataFrame) -> list:
    """The self-supervised loss over the grid and, with a reference, the true PSNR beside it (plotly figures)."""
    x, lines = _axes(found, frame)
    log_x = isinstance(registry.get(found.method, "denoiser").param(x), registry.FloatParam)
    auto = [("auto", float(found.auto[x]))]
    charts = [views.grid_figure([(n, g[x], g["loss"] * 255**2) for n, g in lines], title="Self-supervised loss ↓",
                                xaxis=x, yaxis="loss (× 255²)", marks=_marks(found, frame, "loss", 255**2),
                                vlines=auto, log_x=log_x)]
    if found.oracle is not None:
        charts.append(views.grid_figure([(n, g[x], g["psnr"]) for n, g in lines], title="True PSNR (dB) ↑",
                                        xaxis=x, yaxis="PSNR (dB)", marks=_marks(found, frame, "psnr", 1.0),
                                        vlines=auto, log_x=log_x))
    return charts


def show_charts(found: core.Calibration, frame: pd.DataFrame) -> None:
    """The charts side by side, and what to read in them."""
    charts = figures(found, frame)
    columns = st.columns(len(charts))
    for i, (column, fig) in enumerate(zip(columns, charts)):
        with column:
            views.show_chart(fig, key=f"cal.chart.{i}")
    st.caption("Each point is one setting tried: a coarse grid over the parameter's range (log-spaced for a "
               "scale), the 'auto' setting, and finer steps around the least loss"
               + (" and around the best PSNR (the oracle's, never chosen)" if found.oracle is not None else "")
               + ". Loss: the mean squared difference between the hidden noisy pixels and their prediction, "
                 "in (/255)²; it includes the noise variance, so only its minimum matters.")


def compare_link(found: core.Calibration) -> dict[str, str]:
    """The query parameters that open Denoise & Compare on this image and noise with the self-tuned parameters."""
    query = dict(state.url_dict(with_methods=False))
    query["m"] = found.method
    for name, value in found.chosen.items():
        query[f"d.{found.method}.{name}"] = f"{value:.6g}" if isinstance(value, float) else str(value).lower()
    return query


def show_result(found: core.Calibration, noisy: np.ndarray, noisy_key: str) -> None:
    """The noisy image beside its self-tuned result, and the way to Denoise & Compare with those parameters."""
    views.show_row([("Noisy", page.screen(noisy_key, noisy)),
                    ("Self-tuned " + controls.title(found.method), page.screen(result_key(found, noisy_key), found.image))],
                   captions=["", controls.format_params(found.chosen)])
    st.page_link(COMPARE_PAGE, label="Open in Denoise & Compare with the self-tuned parameters",
                 icon=":material/compare:", query_params=compare_link(found))


def result_key(found: core.Calibration, noisy_key: str) -> str:
    return f"{noisy_key}|{found.method}|{sorted(found.chosen.items())}"


def figure_png(found: core.Calibration, frame: pd.DataFrame) -> bytes:
    """The loss (and the true PSNR) over the tuned parameter as one PNG (``benchmark.charts.line_chart``)."""
    x, lines = _axes(found, frame)
    log_x = isinstance(registry.get(found.method, "denoiser").param(x), registry.FloatParam)
    scale = (lambda v: float(np.log10(v))) if log_x else float
    axis = f"log10 {x}" if log_x else x
    panels = [("loss", 255**2, f"Self-supervised loss (x 255^2) over {axis}")]
    if found.oracle is not None:
        panels.append(("psnr", 1.0, f"True PSNR (dB) over {axis}"))
    with tempfile.TemporaryDirectory() as folder:
        images = []
        for i, (score, factor, title) in enumerate(panels):
            series = {name: [(scale(a), b * factor) for a, b in zip(g[x], g[score])] for name, g in lines}
            images.append(Image.open(line_chart(series, title, Path(folder) / f"{i}.png")).convert("RGB"))
        sheet = Image.new("RGB", (sum(im.width for im in images), max(im.height for im in images)), "white")
        for i, im in enumerate(images):
            sheet.paste(im, (sum(other.width for other in images[:i]), 0))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def show_downloads(found: core.Calibration, frame: pd.DataFrame, noisy_key: str, recipe: str) -> None:
    """The grid (CSV), the self-tuned image (in the current image's format) and the figure (PNG)."""
    meta = state.get(state.IMAGE_META)
    stem = f"{page.download_stem(meta, False)}_{found.method}_selftuned"
    label = cache.download_formats(meta)[0]
    if label == "DICOM":
        label = "TIFF 16-bit"  # a derived image: the source's header (a patient's) stays out of it
    suffix, _, mime = cache.DOWNLOADS[label]
    a, b, c = st.columns(3)
    table = frame.assign(method=found.method, noise=recipe)
    a.download_button("Grid (CSV)", table.to_csv(index=False).encode(), file_name=f"{stem}_grid.csv",
                      mime="text/csv", key="w.cal.csv")
    try:
        data = cache.encode(result_key(found, noisy_key), found.image, label, meta)
        b.download_button(f"Self-tuned image ({label})", data, file_name=f"{stem}.{suffix}", mime=mime, key="w.cal.image")
    except DenoiseError as exc:
        views.error_line(f"{stem}.{suffix}: {exc}")
    c.download_button("Figure (PNG)", figure_png(found, frame), file_name=f"{stem}_figure.png", mime="image/png",
                      key="w.cal.figure")


def write_url(method: str) -> None:
    """The link: the image, the noise and its seed, and the method tuned."""
    state.write_url(with_methods=False, extra={state.CALIBRATE_URL: method})
