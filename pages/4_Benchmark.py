"""Benchmark: build or load a config, run it with progress, read the leaderboard and curves, revisit past runs."""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from denoise_core import registry
from denoise_core.benchmark import (NAMED_SETS, checked_folder, higher_is_better, leaderboard, load_config, run,
                                    time_quality)
from denoise_core.benchmark.report import export
from denoise_core.benchmark.store import Store
from denoise_core.paths import SHARED_DATA, image_roots
from denoise_core.errors import DenoiseError
from denoise_core.metrics import unavailable
from ui import page, views, zoo

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
SET_TITLES = {"set12": "Set12", "bsd68": "BSD68"}
FAST_METHODS = ("median", "gaussian", "mean")


def image_sources() -> dict[str, str]:
    """Image set label -> config source, for the sets present on this computer."""
    sets = {SET_TITLES[name]: name for name in NAMED_SETS if (SHARED_DATA / name).is_dir()}
    return {"Sample images": "samples", **sets, "A folder on this computer": "folder"}


def levels_text(model: registry.Method) -> str:
    """The usual levels of ``model`` (its ``Level.sweep``), as typed in the box."""
    return ", ".join(f"{value:g}" for value in model.level.sweep)


def noise_entry(model: registry.Method, text: str) -> dict:
    """A config noise entry from the levels typed for ``model`` (in its ``Level``'s units: Gaussian sigma on
    the 0–255 scale); ``load_config`` checks their range."""
    try:
        levels = [float(item) for item in text.replace(";", ",").split(",") if item.strip()]
    except ValueError:
        raise DenoiseError(f"{model.title} levels {text!r}: expected numbers separated by commas") from None
    return {"model": model.name, "param": model.level.param, "levels": levels, "scale": model.level.scale}


def folder_source(text: str) -> dict:
    """The folder typed in the box, as a config source, once it is known to lie inside the allowed folders."""
    folder = checked_folder(text, image_roots())
    return {"folder": str(folder), "group": folder.name}


def metric_choice() -> list[str]:
    """The metrics multiselect, with the availability of those that need weights next to it."""
    metrics = st.multiselect("Metrics", registry.names("metric"), ["psnr", "ssim"], key="w.bench.metrics")
    missing = unavailable()
    for name in registry.names("metric"):
        if name in missing:
            st.caption(f"{missing[name]}; if chosen, its column stays empty and the other metrics are computed.")
            if name == "lpips":
                zoo.lpips_button("w.bench.fetch.lpips")
        elif "needs-weights" in registry.get(name, "metric").tags:
            st.caption(f"{registry.get(name, 'metric').title}: available (weights fetched).")
    return metrics


def built_config() -> dict:
    """The config the sidebar widgets describe; every widget shows before its values are read."""
    sources = image_sources()
    label = st.selectbox("Images", list(sources), key="w.bench.images")
    folder = None
    if sources[label] == "folder":
        folder = st.text_input("Folder", key="w.bench.folder",
                               help="A folder of images inside: " + ", ".join(map(str, image_roots())))
    limit = st.number_input("Images per set (0 = all)", 0, 500, 4, key="w.bench.limit")
    size = st.number_input("Crop images to (pixels, 0 = whole)", 0, 4096, 128, step=32, key="w.bench.size")
    titles = {m.name: m.title for m in registry.methods("noise")}
    models = st.multiselect("Noise", list(titles), ["gaussian"], format_func=titles.get, key="w.bench.noise")
    levels = {name: st.text_input(f"{titles[name]}: levels ({registry.get(name, 'noise').level.label})",
                                  levels_text(registry.get(name, "noise")), key=f"w.bench.levels.{name}")
              for name in models}
    denoisers = registry.names("denoiser")
    methods = st.multiselect("Methods (parameters: auto)", denoisers, [m for m in FAST_METHODS if m in denoisers],
                             key="w.bench.methods")
    metrics = metric_choice()
    return {"name": "app", "images": [sources[label] if folder is None else folder_source(folder)],
            "limit": limit or None, "max_size": size or None,
            "noise": [noise_entry(registry.get(name, "noise"), text) for name, text in levels.items()],
            "methods": methods, "metrics": metrics}


def chosen_config() -> dict | None:
    """The checked config of a ready-made file or of the widgets; None (and one error line) if it is not valid."""
    files = sorted(CONFIGS.glob("*.yaml"))
    kind = st.radio("Config", ["Build one", "Ready-made"], horizontal=True, key="w.bench.kind",
                    disabled=not files)
    try:
        if kind == "Ready-made":
            return load_config(st.selectbox("Ready-made config", files, format_func=lambda path: path.stem,
                                            key="w.bench.file"))
        return load_config(built_config())
    except DenoiseError as error:
        views.error_line(error)
        return None


def run_with_progress(config: dict, workers: int, store: Store) -> int:
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total} image × method tasks")

    table = run(config, workers=workers, store=store, progress=progress)
    bar.empty()
    return table.attrs["run_id"]


def show_leaderboard(table: pd.DataFrame) -> None:
    cases = ["all noise levels"] + [f"{noise} {level:g}" for noise, level in
                                    table[["noise", "level"]].drop_duplicates().itertuples(index=False)]
    case = st.selectbox("Leaderboard over", cases, key="w.bench.case")
    if case != cases[0]:
        noise, level = case.rsplit(" ", 1)
        table = table[(table["noise"] == noise) & (table["level"] == float(level))]
    board = leaderboard(table)
    direction = {f"{m} mean": higher_is_better(m) for m in dict.fromkeys(table["metric"])} | {"seconds": False}
    formats = {column: ".4f" for column in board.columns if column not in ("cases", "errors")}
    st.dataframe(views.metrics_table(board, direction, formats), width="stretch", height="content")


def show_curves(table: pd.DataFrame) -> None:
    means = table.groupby(["method", "noise", "level", "metric"], as_index=False)["value"].agg(["mean", "std"])
    columns = st.columns(max(1, means["metric"].nunique()))
    for column, metric in zip(columns, dict.fromkeys(table["metric"])):
        rows = means[means["metric"] == metric]
        fig = px.line(rows, x="level", y="mean", error_y="std", color="method", facet_col="noise", markers=True,
                      labels={"mean": registry.get(metric, "metric").title, "level": "noise level"})
        fig.update_xaxes(matches=None)
        with column:
            views.show_chart(fig, key=f"bench.curve.{metric}")


def show_per_image(table: pd.DataFrame, metric: str) -> None:
    rows = table[table["metric"] == metric].assign(case=lambda t: t["noise"] + " " + t["level"].map("{:g}".format))
    title = registry.get(metric, "metric").title
    left, right = st.columns(2)
    with left:
        fig = px.strip(rows, x="image", y="value", color="method", facet_row="case", labels={"value": title},
                       hover_data=["seed", "params"])
        views.show_chart(fig, key="bench.scatter")
    with right:
        fig = px.box(rows, x="method", y="value", color="case", points="all", labels={"value": title})
        views.show_chart(fig, key="bench.box")


def show_pareto(table: pd.DataFrame, metric: str) -> None:
    points = time_quality(table, metric).reset_index()
    if points.empty:
        st.info(f"No case has a {registry.get(metric, 'metric').title} value: the Rows tab gives each error.")
        return
    fig = px.scatter(points, x="seconds", y=metric, text="method", symbol="pareto", log_x=True,
                     labels={"seconds": "median seconds per image (log)", metric: registry.get(metric, "metric").title})
    front = points[points["pareto"]].sort_values("seconds")
    fig.add_scatter(x=front["seconds"], y=front[metric], mode="lines", name="Pareto front", line={"dash": "dot"})
    fig.update_traces(textposition="top center")
    views.show_chart(fig, key="bench.pareto")


def show_run(store: Store, run_id: int) -> None:
    info, table = store.info(run_id), store.results(run_id)
    st.caption(f"Run {run_id} · {info['name']} · {info['status']} · {info['started']} · {info['engine']} · "
               f"{len(table)} rows, {int(table['error'].notna().sum())} failed")
    if table.empty:
        st.info("This run has no rows yet.")
        return
    show_leaderboard(table)
    metric = st.selectbox("Metric for the plots", list(dict.fromkeys(table["metric"])), key="w.bench.metric")
    tabs = st.tabs(["Versus noise level", "Per image", "Time versus quality", "Rows"])
    with tabs[0]:
        show_curves(table)
    with tabs[1]:
        show_per_image(table, metric)
    with tabs[2]:
        show_pareto(table, metric)
    with tabs[3]:
        st.dataframe(table, width="stretch", hide_index=True)
        st.download_button("Download CSV", table.to_csv(index=False), f"run-{run_id}.csv", key="w.bench.csv")


@st.cache_data(max_entries=8, show_spinner=False)
def report_zip(db: str, run_id: int, rows: int) -> bytes:
    """The Markdown report of a run and its PNG charts, zipped (``rows`` keys the cache to the run's state)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(buffer, "w") as archive:
        for path in export(Store(db), run_id, "md", Path(folder) / f"run-{run_id}.md"):
            archive.write(path, path.name)
    return buffer.getvalue()


def delete_run(store: Store, run_id: int) -> None:
    store.delete(run_id)
    st.session_state.pop("w.bench.show", None)


def show_comparison(store: Store, runs: pd.DataFrame) -> None:
    ids = runs["id"].tolist()
    left, right = st.columns(2)
    first = left.selectbox("Run A", ids, index=len(ids) - 1, key="w.bench.a")
    second = right.selectbox("Run B", ids, index=max(0, len(ids) - 2), key="w.bench.b")
    for column, run_id in ((left, first), (right, second)):
        column.dataframe(leaderboard(store.results(run_id)).round(4), width="stretch")
    st.dataframe(store.compare(first, second).round(4), width="stretch")


page.setup("Benchmark", icon=":material/leaderboard:")
store = page.guarded(Store)
with st.sidebar:
    st.markdown("### Benchmark config")
    config = chosen_config()
    workers = st.number_input("Worker processes (0 = in this app)", 0, 64, os.cpu_count() or 1, key="w.bench.workers")
    start = st.button("Run benchmark", type="primary", key="w.bench.run", width="stretch", disabled=config is None)

st.title("Benchmark")
st.caption("Protocol of BENCHMARK.md: seeded noise per image in sorted order, unclipped Gaussian noise, metrics on "
           "the output clipped to [0, 1]. Every run is kept in the results store.")
if start and config is not None:
    try:
        st.session_state["w.bench.show"] = run_with_progress(config, workers, store)
    except DenoiseError as error:
        views.error_line(error)

runs = store.runs()
if runs.empty:
    st.info("No runs yet: build a config in the sidebar and run it.")
    st.stop()
history, compare = st.tabs(["Results", "Compare two runs"])
with history:
    shown = st.selectbox("Run", runs["id"].tolist()[::-1], key="w.bench.show",
                         format_func=lambda i: f"{i}: {runs.set_index('id').loc[i, 'name']} "
                                               f"({runs.set_index('id').loc[i, 'status']})")
    show_run(store, shown)
    rows = int(runs.set_index("id").loc[shown, "rows"])
    st.download_button("Download report (Markdown and PNG charts)", report_zip(str(store.path), shown, rows),
                       f"run-{shown}-report.zip", key="w.bench.md")
    st.button("Delete this run", key="w.bench.delete", on_click=delete_run, args=(store, shown))
with compare:
    show_comparison(store, runs)
