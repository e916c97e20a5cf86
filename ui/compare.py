"""Denoise & Compare: run the chosen methods once (cached per image, method and parameters) and
show the results: slider, zoomed grid, difference maps, metrics, downloads."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from denoise_core import metrics as core_metrics, registry, samples, speed
from denoise_core.errors import DenoiseError
from denoise_core.box import Box

from . import cache, controls, page, state, units, views, zoo


LINK_HOLDS = ("The link holds the image, the noise and its seed, the methods and their parameters, the slider's two "
              "panels, the open tab, the zoomed region and the display window (not the slider's position).")
NOISY = "Noisy (input)"  # the metrics table's first row, the charts' reference line


@dataclass
class Result:
    name: str
    title: str
    image: np.ndarray
    seconds: float
    params: dict
    auto: bool
    key: str  # identifies the result: noisy image, method, parameters


def level_caption(level: dict, meta) -> str:
    """The estimated noise level as the page states it: σ, impulses, and whether the noise is correlated
    or grows with brightness (``estimate.real_noise_level``)."""
    from denoise_core.estimate import signal_dependent
    text = f"estimated σ {units.sigma(level['sigma'], meta)}"
    if level["sigma"] > level["sigma_white"]:
        text += (f" (correlated noise: {level['correlation']:.2f}× the "
                 f"{units.sigma(level['sigma_white'], meta)} single pixels show)")
    if signal_dependent(level["gain"], level["floor"]):
        text += ", growing with brightness"
    return text + f", impulses {100 * level['impulse']:.1f}%"


def job_key(noisy_key: str, name: str, params: dict) -> str:
    return f"{noisy_key}|{name}|{sorted(params.items())}"


def method_settings(noisy_key: str, noisy: np.ndarray, level: dict, chosen: list[str]) -> list[tuple]:
    """Sidebar controls of each chosen method: [(method, params, auto)]."""
    out = []
    for name in chosen:
        method = registry.get(name, "denoiser")
        with st.sidebar.expander(f"{method.title}", expanded=len(chosen) <= 2):
            if method.summary:
                st.caption(method.summary)

            def auto_values(name=name):
                return cache.resolve(noisy_key, noisy, name, cache.freeze(level), True)

            try:
                params, auto = controls.method_controls(method, auto_values)
            except DenoiseError as exc:
                views.error_line(exc)
                continue
        out.append((method, params, auto))
    return out


SLOW_SECONDS = 20.0
"""Methods expected to take longer than this in all wait for the user's go-ahead, with their estimates."""


def estimates(noisy: np.ndarray, jobs: list[tuple]) -> dict[str, float]:
    """Each job's method title -> its expected seconds on ``noisy``, from its measured speed (unknown: left out)."""
    found = {job[0].title: speed.estimate(job[0].name, noisy.size) for job in jobs}
    return {title: seconds for title, seconds in found.items() if seconds is not None}


def approved(noisy: np.ndarray, pending: list[tuple], expected: dict[str, float]) -> bool:
    """True when the pending methods (``expected``: their :func:`estimates`) may run: not just cancelled, and
    fast enough or the user pressed the button the warning offers."""
    if state.get(state.CANCELLED):
        state.put(state.CANCELLED, False)
        st.info("Cancelled: " + ", ".join(job[0].title for job in pending) + " not run.", icon=":material/stop:")
        return st.button("Run them", type="primary", key="w.cmp.go")
    if sum(expected.values()) <= SLOW_SECONDS:
        return True
    megapixels = noisy.shape[0] * noisy.shape[1] / 1e6
    kind = "colour" if noisy.ndim == 3 else "gray"
    lines = [f"{title} on this {megapixels:.1f} MP {kind} image: {speed.describe(seconds)}"
             for title, seconds in sorted(expected.items(), key=lambda item: -item[1]) if seconds >= 1]
    st.warning("Slow choice (times measured on this machine):  \n" + "  \n".join(lines), icon=":material/timer:")
    return st.button(f"Run ({speed.describe(sum(expected.values()))})", type="primary", key="w.cmp.go")


def run_all(noisy_key: str, noisy: np.ndarray, settings: list[tuple]) -> list[Result]:
    """Run every method (cached); uncached ones show which method runs, its expected time and how far along
    it is; a slow set waits for the go-ahead (``approved``) and can be cancelled between methods."""
    done = state.get(state.DONE_JOBS)
    jobs = [(m, p, a, job_key(noisy_key, m.name, p)) for m, p, a in settings]
    pending = [j for j in jobs if j[3] not in done]
    results: list[Result] = []
    errors: list[str] = []

    def one(method, params, auto, key):
        try:
            out, seconds = cache.denoise(noisy_key, noisy, method.name, cache.freeze(params))
        except DenoiseError as exc:
            errors.append(f"{method.title}: {exc}")
            return
        done.add(key)
        results.append(Result(method.name, method.title, out, seconds, params, auto, key))

    expected = estimates(noisy, pending)
    if pending and not approved(noisy, pending, expected):
        jobs = [j for j in jobs if j[3] in done]  # the finished ones still show
        pending = []
    if not pending:
        for job in jobs:
            one(*job)
    else:
        start = time.perf_counter()
        with st.status(f"Running {len(pending)} of {len(jobs)} methods…", expanded=True) as status:
            bar = st.progress(0.0)
            st.button("Cancel", key="w.cmp.cancel", icon=":material/stop:", on_click=state.put,
                      args=(state.CANCELLED, True), help="Stops after the method running now; the finished ones are kept")
            for i, job in enumerate(jobs):
                eta = f", {speed.describe(expected[job[0].title])}" if job in pending and job[0].title in expected else ""
                label = f"Running {job[0].title} ({i + 1}/{len(jobs)}{eta})…"
                status.update(label=label)
                bar.progress(i / len(jobs), text=label)
                one(*job)
                if results and results[-1].key == job[3]:
                    st.write(f"✓ {job[0].title}: {results[-1].seconds:.2f} s")
            bar.progress(1.0, text="Done")
            status.update(label=f"Ran {len(pending)} method(s) in {time.perf_counter() - start:.1f} s",
                          state="complete" if not errors else "error", expanded=False)
    for line in errors:
        st.error(line, icon=":material/error:")
    return results


def panels(clean: np.ndarray | None, noisy: np.ndarray, noisy_key: str, results: list[Result]) -> list[tuple]:
    """(label, id, image) of everything one can look at: clean, noisy, each result."""
    items = []
    if clean is not None:
        items.append(("Clean", state.get(state.IMAGE_HASH), clean))
    items.append(("Noisy", noisy_key, noisy))
    items += [(r.title, r.key, r.image) for r in results]
    return items


TABS = {"metrics": "Metrics", "zoom": "Zoomed grid", "differences": "Difference maps", "roi": "Region of interest",
        "downloads": "Downloads"}
"""The page's tabs: the name a link gives each (``tab=``) -> its label."""


def tabs() -> dict:
    """The page's tabs by name, the one the view names (``tab`` of the link) open. Only the open tab is drawn
    (``.open``): a switch reruns the page, which then draws just that tab, so a rerun never pays for the others."""
    chosen = TABS.get(state.get(state.VIEW).get("tab"), TABS["metrics"])
    containers = st.tabs(list(TABS.values()), key="w.cmp.tab", default=chosen, on_change="rerun")
    label = st.session_state.get("w.cmp.tab", chosen)
    state.put(state.VIEW, {**state.get(state.VIEW), "tab": next(name for name, title in TABS.items() if title == label)})
    return dict(zip(TABS, containers))


def panel_names(results: list[Result], has_clean: bool) -> list[str]:
    """The names a link gives the panels of :func:`panels`, in the same order: clean, noisy, each method."""
    return ["clean"] * has_clean + ["noisy"] + [r.name for r in results]


def show_slider(items: list[tuple], names: list[str]) -> None:
    """The before/after slider between two chosen panels; the choice is part of the link (``left``, ``right``)."""
    labels = [label for label, _, _ in items]
    left, right = st.columns(2)
    default_right = 2 if len(labels) > 2 and labels[0] == "Clean" else min(1, len(labels) - 1)
    defaults = {"left": labels.index("Noisy"), "right": default_right}
    view = state.get(state.VIEW)
    for side, default in defaults.items():
        key = f"w.cmp.{side}"
        linked = view.get(side)
        state.seed_widget(key, labels[names.index(linked)] if linked in names else labels[default])
        if st.session_state[key] not in labels:
            st.session_state[key] = labels[default]
    a = left.selectbox("Left of the slider", labels, key="w.cmp.left")
    b = right.selectbox("Right of the slider", labels, key="w.cmp.right")
    state.put(state.VIEW, {**view, "left": names[labels.index(a)], "right": names[labels.index(b)]})
    la, ia, xa = items[labels.index(a)]
    lb, ib, xb = items[labels.index(b)]
    views.compare_slider(page.screen(ia, xa), page.screen(ib, xb), la, lb, key="cmp.slider")


def show_zoom_grid(items: list[tuple]) -> None:
    reference = items[0][2]
    height, width = reference.shape[:2]
    c = st.columns([1, 1, 1, 1])
    largest = min(height, width)
    linked = state.get(state.VIEW).get("zoom")  # [x, y, side] from a link
    size = views.int_slider(c[0], "Zoom region size", min(8, largest), min(256, largest),
                            linked[2] if linked else min(48, largest),
                            key="w.cmp.zsize", help="Side of the square region, in pixels of the image")
    x = views.int_slider(c[1], "Region x", 0, width - size, linked[0] if linked else (width - size) // 2, key="w.cmp.zx")
    y = views.int_slider(c[2], "Region y", 0, height - size, linked[1] if linked else (height - size) // 2, key="w.cmp.zy")
    state.put(state.VIEW, {**state.get(state.VIEW), "zoom": [x, y, size]})
    columns = c[3].slider("Columns", 2, 6, min(4, max(2, len(items))), key="w.cmp.zcols")
    box = Box.square(x, y, size, reference.shape, least=4)
    factor = max(1, 256 // size)
    st.caption(f"Region ({x}, {y}), {size}×{size} pixels, magnified ×{factor} nearest-neighbour (no smoothing).")
    overview, grid = st.columns([1, 3])
    overview.image(views.mark(page.screen(items[0][1], reference), box), caption="Where the region is",
                   width="stretch")
    with grid:
        for start in range(0, len(items), columns):  # a row of columns each: tiles align whatever the captions
            for column, (label, key, image) in zip(st.columns(columns), items[start:start + columns]):
                column.image(views.zoom(page.screen(key, image), box), caption=label, width="stretch")


def default_regions(reference: np.ndarray) -> tuple[Box, Box]:
    """The sample's (signal, background) regions when it has them, else the centre and the flattest region
    inside the object (``metrics.flat_region``: not the air around a scan, where SNR would be infinite)."""
    sample = state.get(state.SAMPLE)
    preset = next((s.roi for s in samples.samples() if s.name == sample), None)
    if preset:
        return preset
    height, width = reference.shape[:2]
    return Box(height * 3 // 8, width * 3 // 8, height // 4, width // 4), core_metrics.flat_region(reference)


def _drawn(target: str, shape: tuple[int, ...]) -> None:
    """Callback of the drawing: the box dragged on the image becomes the ``target`` region's four numbers."""
    box = views.selected_box(st.session_state["w.roi.draw"], shape)
    if box is not None:
        for name in ("top", "left", "height", "width"):
            st.session_state[f"w.roi.{target}.{name}"] = getattr(box, name)


def region_inputs(label: str, default: Box, shape: tuple[int, ...], key: str) -> Box:
    """Four number inputs (top, left, height, width) for one region."""
    height, width = shape[:2]
    st.markdown(f"**{label}**")
    c = st.columns(4)
    top = c[0].number_input("top", 0, height - 2, default.top, key=f"w.roi.{key}.top")
    left = c[1].number_input("left", 0, width - 2, default.left, key=f"w.roi.{key}.left")
    rows = c[2].number_input("height", 2, height, default.height, key=f"w.roi.{key}.height")
    cols = c[3].number_input("width", 2, width, default.width, key=f"w.roi.{key}.width")
    return Box(int(top), int(left), int(rows), int(cols))


def roi_frame(clean: np.ndarray | None, items: list[tuple], signal: Box, background: Box, meta) -> pd.DataFrame:
    """Per image: PSNR/SSIM inside the signal region and on the whole image, SNR and CNR."""
    rows = []
    for label, _, image in items:
        row = {"image": label}
        if clean is not None and image is not clean:
            inside = core_metrics.roi_metrics(clean, image, signal)
            row.update({"PSNR in region (dB)": inside["psnr"], "SSIM in region": inside["ssim"],
                        "PSNR whole (dB)": core_metrics.psnr(clean, image),
                        "SSIM whole": core_metrics.ssim(clean, image)})
        row["SNR"] = core_metrics.snr(image, signal, background, meta.value_range)
        row["CNR"] = core_metrics.cnr(image, signal, background)
        if not units.plain(meta):  # the noise a radiologist reads off a flat region, in HU (or raw values)
            row[units.scaled_label("σ background", meta)] = float(background.of(image).std()) * units.span(meta)
        rows.append(row)
    return pd.DataFrame(rows)


def show_roi(clean: np.ndarray | None, items: list[tuple]) -> None:
    """Regions of interest: metrics inside a signal region, SNR and CNR against a background region."""
    reference, meta = items[0][2], state.get(state.IMAGE_META)
    default_signal, default_background = default_regions(reference)
    left, right = st.columns([1, 2])
    with right:
        signal = region_inputs("Signal region (lesion, tissue)", default_signal, reference.shape, "signal")
        background = region_inputs("Background region (flat tissue or air)", default_background, reference.shape,
                                   "background")
    marked = views.mark(views.mark(page.screen(items[0][1], reference), signal), background, color=(64, 160, 255))
    with left:
        target = st.segmented_control("Drag a box on the image to set", ["signal", "background"], default="signal",
                                      key="w.roi.target", required=True)
        views.show_chart(views.image_figure(marked), key="w.roi.draw", on_select=lambda: _drawn(target, reference.shape))
        st.caption("Signal (red) and background (blue): drag a box (box select) or type the numbers")
    try:
        frame = roi_frame(clean, items, signal, background, meta)
    except DenoiseError as error:
        views.error_line(error)
        return
    higher = {c: not c.startswith("σ") for c in frame.columns if c != "image"}
    formats = {c: ".4f" if c.startswith("SSIM") else ".2f" for c in higher}
    st.dataframe(views.metrics_table(frame.set_index("image"), higher, formats), width="stretch")
    source = "the source values" + ("" if units.plain(meta) else f" ({units.unit(meta)})")
    st.caption(units.caption(meta, psnr=clean is not None) + f" SNR = mean(signal) / std(background) on {source}; "
               "CNR = |mean(signal) − mean(background)| / std(background), unitless."
               + ("" if clean is not None else " No clean reference: PSNR/SSIM need one."))


def show_differences(clean: np.ndarray | None, noisy: np.ndarray, results: list[Result]) -> None:
    if not results:
        return
    c = st.columns(2)
    vmax = c[0].slider("|clean − result| colour scale: white at", 0.02, 0.5, 0.15, 0.01, key="w.cmp.vmax",
                       disabled=clean is None)
    gain = c[1].slider("Method noise contrast (noisy − result)", 1.0, 10.0, 3.0, 0.5, key="w.cmp.gain")
    if clean is None:
        st.caption("No clean reference: only the method noise (what each method removed) can be shown.")
    else:
        st.caption("Top: |clean − result| (black = exact; inferno scale). Bottom: noisy − result, the "
                   "'method noise' around mid-gray: ideally pure noise; visible edges mean the method removed detail.")
    meta = state.get(state.IMAGE_META)
    factor, unit = (255.0, "/255") if units.plain(meta) else (units.span(meta), units.unit(meta))
    bars = st.columns(2)
    if clean is not None:
        bars[0].image(views.colour_bar(0.0, vmax * factor, unit), caption="|clean − result|")
    bars[1].image(views.colour_bar(-0.5 / gain * factor, 0.5 / gain * factor, unit, signed_gray=True),
                  caption="noisy − result")
    per_row = min(4, len(results))
    for start in range(0, len(results), per_row):  # a row of columns each, so that the maps align
        for column, r in zip(st.columns(per_row), results[start:start + per_row]):
            with column:
                st.markdown(f"**{r.title}**")
                if clean is not None:
                    st.image(views.heat(np.abs(clean - r.image), vmax), width="stretch", caption="|clean − result|")
                st.image(views.signed(noisy - r.image, gain), width="stretch", caption="noisy − result")


def metric_methods() -> list[registry.Method]:
    return registry.methods("metric")


EDGES = "edges in method noise"
SHARPNESS = "sharpness (× input)"


def no_reference_row(noisy_key: str, noisy: np.ndarray, key: str, image: np.ndarray, meta) -> dict[str, float]:
    """The no-reference columns of one image: the noise σ it still holds, the method noise's σ and its
    correlation with edges, and its sharpness relative to the input (``metrics.no_reference``)."""
    values = cache.no_reference(noisy_key, noisy, key, image)
    row = {"estimated σ left (/255)": values["noise_left"] * 255,
           "method noise σ (/255)": values["method_noise"] * 255}
    if not units.plain(meta):
        row[units.scaled_label("estimated σ left", meta)] = values["noise_left"] * units.span(meta)
    return {**row, EDGES: values["method_noise_edges"] if key != noisy_key else np.nan, SHARPNESS: values["sharpness"]}


def metrics_frame(clean: np.ndarray | None, noisy: np.ndarray, noisy_key: str,
                  results: list[Result]) -> tuple[pd.DataFrame, dict, dict]:
    """Tidy table: one row per image (noisy input, then each result), one column per metric."""
    rows, direction, formats = [], {}, {}
    metrics = metric_methods()
    meta = state.get(state.IMAGE_META)
    if clean is not None:
        ref_key = state.get(state.IMAGE_HASH)
        titles = {m.name: m.title for m in metrics}
        for label, key, image, r in [(NOISY, noisy_key, noisy, None)] + [(x.title, x.key, x.image, x)
                                                                                  for x in results]:
            values = cache.measure(ref_key, clean, key, image)
            row = {"method": label}
            for m in metrics:
                if m.name in values:
                    row[m.title] = values[m.name]
                    direction[m.title] = m.higher_is_better
                    formats[m.title] = ".2f" if m.name == "psnr" else ".4f"
            for title, value in units.scaled(values, meta, titles).items():  # MSE, MAE in HU (or raw values)
                row[title] = value
                direction[title] = False
                formats[title] = ",.1f" if "²" in title else ",.2f"
            row["seconds"] = r.seconds if r else np.nan
            row["parameters"] = (("auto: " if r.auto else "") + controls.format_params(r.params)) if r else "—"
            rows.append(row)
    else:
        for label, key, image, r in [(NOISY, noisy_key, noisy, None)] + [(x.title, x.key, x.image, x)
                                                                                  for x in results]:
            row = {"method": label, **no_reference_row(noisy_key, noisy, key, image, meta)}
            rows.append({**row, "seconds": r.seconds if r else np.nan,
                         "parameters": (("auto: " if r.auto else "") + controls.format_params(r.params)) if r else "—"})
        for title in [c for c in rows[0] if c not in ("method", "seconds", "parameters")]:
            direction[title] = None
            formats[title] = ".3f" if title in (EDGES, SHARPNESS) else ".2f"
    direction["seconds"] = False
    formats["seconds"] = ".2f"
    return pd.DataFrame(rows), direction, formats


def show_metrics(frame: pd.DataFrame, direction: dict, formats: dict, has_clean: bool) -> None:
    if not has_clean:
        st.info("No clean reference: PSNR, SSIM, MSE and MAE need one. Shown instead, for each result: the noise "
                "level a blind estimator still finds in it (correlated and brightness-dependent noise included); "
                "the method noise (noisy − result: what it removed), its σ and how much it follows the edges "
                "(0: only noise was removed; higher: detail went too, see the Differences tab); and its sharpness, "
                "the variance of its Laplacian over the input's (noise counts as detail: every denoiser lowers it, "
                "an over-smoothing one most). None of these is a score on its own: read them together.")
    meta = state.get(state.IMAGE_META)
    st.dataframe(views.metrics_table(frame.set_index("method"), direction, formats), width="stretch", height="content")
    st.caption(units.caption(meta, psnr=has_clean) + ("" if units.plain(meta) or not has_clean else
               f" MSE and MAE also in {units.unit(meta)}: the [0, 1] value × {units.span(meta):g} "
               f"(× its square for MSE)."))
    for name, reason in core_metrics.unavailable().items():
        st.caption(reason)
        if name == "lpips":
            zoo.lpips_button("w.cmp.fetch.lpips")
    st.caption("Best value per column highlighted (↑ higher is better for PSNR/SSIM, ↓ lower for MSE/MAE/"
               "seconds). Seconds: this machine, first run (later runs come from the cache).")
    # one chart per quantity: an error in source units replaces its [0, 1] twin (same bars, readable axis)
    suffixes = () if units.plain(meta) else (f" ({units.unit(meta)})", f" ({units.unit(meta)}²)")
    scaled = [c for c in frame.columns if c.endswith(suffixes)] if suffixes else []
    twins = {base for c in scaled for base in (c.rsplit(" (", 1)[0], c.rsplit(" (", 1)[0] + " (/255)")}
    numeric = [c for c in frame.columns if c not in ("method", "parameters", *twins)]
    methods = frame[frame["method"] != NOISY]
    per_row = 1 if len(methods) > 8 else 2  # full method names need the width
    noisy = frame[frame["method"] == NOISY]
    for start in range(0, len(numeric), per_row):
        cols = st.columns(per_row)
        for column, name in zip(cols, numeric[start:start + per_row]):
            values = {m: float(v) for m, v in zip(methods["method"], methods[name]) if pd.notna(v)}
            reference = ("noisy input", float(noisy[name].iloc[0])) if len(noisy) and pd.notna(noisy[name].iloc[0]) else None
            column.markdown(views.bars_svg(values, title=name, higher_is_better=direction.get(name),
                                           fmt=formats.get(name, ".3g"), reference=reference), unsafe_allow_html=True)


def show_downloads(clean: np.ndarray | None, noisy: np.ndarray, noisy_key: str, results: list[Result],
                   frame: pd.DataFrame, recipe: str, noise_tag: str) -> None:
    """Each image, the metrics and the comparison figure, encoded now so that a failure is one line
    naming the file (a download's bytes must not depend on the session once the script has ended).
    File names say the image, the noise (``noise_tag``) and the method."""
    meta = state.get(state.IMAGE_META)
    label = st.radio("Images as", cache.download_formats(meta), horizontal=True, key="w.dl.format",
                     help="DICOM keeps the source's header (patient, study, window) and its units, de-identified "
                          "when the switch below is on; a 16-bit TIFF keeps the values in the source's units "
                          "(e.g. HU); PNG is for slides")
    deidentify = label == "DICOM" and controls.deidentify_toggle(meta, "w.deid.cmp")
    base = f"{page.download_stem(meta, deidentify)}_{noise_tag}"
    suffix, _, mime = cache.DOWNLOADS[label]
    st.caption(recipe)
    cols = st.columns(4)
    items = [("noisy", "Noisy", noisy_key, noisy)] + [(r.name, r.title, r.key, r.image) for r in results]
    for i, (name, title, key, image) in enumerate(items):
        file_name = f"{base}_{name}.{suffix}"
        try:
            data = cache.encode(key, image, label, meta, deidentify=deidentify)
        except DenoiseError as exc:
            views.error_line(f"{file_name}: {exc}")
            continue
        cols[i % 4].download_button(title, data=data, file_name=file_name, mime=mime, key=f"w.dl.{name}",
                                    icon=":material/download:", on_click="ignore", width="stretch")
    a, b = st.columns(2)
    a.download_button("Metrics (CSV)", data=frame.to_csv(index=False).encode(), file_name=f"{base}_metrics.csv",
                      mime="text/csv", key="w.dl.csv", icon=":material/download:", on_click="ignore", width="stretch")
    tiles = [(label, page.screen(key, image)) for label, key, image in panels(clean, noisy, noisy_key, results)]
    b.download_button("Comparison figure (PNG)", data=views.figure_png(tiles, columns=4, title=f"{base}: {recipe}"),
                      file_name=f"{base}_comparison.png", mime="image/png", key="w.dl.figure",
                      icon=":material/download:", on_click="ignore", width="stretch")
