"""The Benchmark page's runs: one run with progress, a stored run's leaderboard, charts, rows and report, and two
runs side by side."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from denoise_core import registry
from denoise_core.benchmark import higher_is_better, leaderboard, level_curves, run, time_quality
from denoise_core.benchmark.report import export
from denoise_core.benchmark.store import Store
from denoise_core.errors import DenoiseError

from . import classroom, views

SHOWN = "w.bench.show"  # the run picker, set to a run just made


def run_and_show(config: dict, workers: int, store: Store) -> None:
    """Run ``config`` with a progress bar and show the new run; a failure is one error line. Cancel stops it
    after the task running now: the rows stored so far stay, and running the same config again resumes it."""
    bar, cancel = st.progress(0.0, text="Starting…"), st.empty()
    cancel.button("Cancel", key="w.bench.cancel", icon=":material/stop:",
                  help="Stops after the task running now; the run resumes where it stopped when started again")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total} image × method tasks")

    try:
        table = run(config, workers=workers, store=store, progress=progress)
    except DenoiseError as error:
        views.error_line(error)
        return
    finally:
        cancel.empty()
    bar.empty()
    st.session_state[SHOWN] = table.attrs["run_id"]


def pick_run(runs: pd.DataFrame) -> int:
    """The run to show, the newest first."""
    named = runs.set_index("id")
    return st.selectbox("Run", runs["id"].tolist()[::-1], key=SHOWN,
                        format_func=lambda i: f"{i}: {named.loc[i, 'name']} ({named.loc[i, 'status']})")


def show_leaderboard(table: pd.DataFrame) -> None:
    """The leaderboard over every case, or over one noise and level."""
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
    """Each metric against the noise level, one line per method, one panel per noise."""
    means = level_curves(table)
    columns = st.columns(max(1, means["metric"].nunique()))
    for column, metric in zip(columns, dict.fromkeys(table["metric"])):
        rows = means[means["metric"] == metric]
        fig = px.line(rows, x="level", y="mean", error_y="std", color="method", facet_col="noise", markers=True,
                      labels={"mean": registry.get(metric, "metric").title, "level": "noise level"})
        fig.update_xaxes(matches=None)
        with column:
            views.show_chart(fig, key=f"bench.curve.{metric}")


def show_per_image(table: pd.DataFrame, metric: str) -> None:
    """``metric`` of every image, per case, and its spread per method."""
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
    """``metric`` against the time per image, with the Pareto front."""
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
    """A stored run: what it was, its leaderboard, its charts and its rows."""
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
    st.session_state.pop(SHOWN, None)


def show_report_and_delete(store: Store, runs: pd.DataFrame, run_id: int) -> None:
    """The run's report to download, and the button that deletes the run."""
    rows = int(runs.set_index("id").loc[run_id, "rows"])
    st.download_button("Download report (Markdown and PNG charts)", report_zip(str(store.path), run_id, rows),
                       f"run-{run_id}-report.zip", key="w.bench.md")
    if classroom.lecturer_only("Deleting runs"):
        st.button("Delete this run", key="w.bench.delete", on_click=delete_run, args=(store, run_id))


def show_comparison(store: Store, runs: pd.DataFrame) -> None:
    """Two runs' leaderboards side by side, and their differences case by case."""
    ids = runs["id"].tolist()
    left, right = st.columns(2)
    first = left.selectbox("Run A", ids, index=len(ids) - 1, key="w.bench.a")
    second = right.selectbox("Run B", ids, index=max(0, len(ids) - 2), key="w.bench.b")
    for column, run_id in ((left, first), (right, second)):
        column.dataframe(leaderboard(store.results(run_id)).round(4), width="stretch")
    st.dataframe(store.compare(first, second).round(4), width="stretch")
