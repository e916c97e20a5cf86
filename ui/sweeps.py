"""The Sweeps page: its settings (in the link), the run with progress and Cancel, and the views of each sweep."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from denoise_core import bundle, registry, speed
from denoise_core.benchmark.charts import band_chart
from denoise_core.benchmark.mismatch import experiment_configs, experiments
from denoise_core.benchmark.store import Store
from denoise_core.benchmark.sweep import (crossovers, level_label, paired_test, parse_range, range_levels, run_sweep,
                                          seconds_per_method, summary, sweep_config)
from denoise_core.errors import DenoiseError
from denoise_core.metrics import unavailable
from denoise_core.paths import SHARED_DATA, cache_dir

from . import bundles, controls, state, views

SETS = {"set12": "Set12", "bsd68": "BSD68"}
IMAGES = {"current": "The current image", "samples": "Sample images", **SETS}
MODES = {"sweep": "Sweep a noise level", "experiment": "Mismatch experiments"}
_TOLD = re.compile(r"(?P<name>.+) x(?P<factor>[0-9.]+)")


def method_title(label: str) -> str:
    """What the page calls a sweep's method: its title, and the σ it was told when that is not the true one."""
    told = _TOLD.fullmatch(label)
    if told and told["name"] in registry.names("denoiser"):
        return f"{controls.title(told['name'], 'denoiser')}, told {told['factor']}× σ"
    return controls.title(label, "denoiser")


def _choice(label: str, options: dict, name: str, settings: dict, **kwargs):
    state.seed_widget(f"w.sw.{name}", settings[name] if settings[name] in options else next(iter(options)))
    settings[name] = st.selectbox(label, list(options), format_func=options.get, key=f"w.sw.{name}", **kwargs)
    return settings[name]


def _number(label: str, name: str, settings: dict, lo: int, hi: int, **kwargs) -> int:
    state.seed_widget(f"w.sw.{name}", min(max(int(settings[name]), lo), hi))
    settings[name] = int(st.number_input(label, lo, hi, key=f"w.sw.{name}", **kwargs))
    return settings[name]


def _reset_range() -> None:
    """A new noise model starts from its usual levels."""
    level = registry.get(st.session_state["w.sw.noise"], "noise").level
    state.sweep_settings()["range"] = f"{min(level.sweep):g}:{max(level.sweep):g}:5"
    state.forget_widgets("w.sw.range.")


def apply_link() -> None:
    """Take the link's sweep settings (when it holds new ones); what could not be applied is one warning line."""
    state.apply_sweep_url()
    notice = state.get(state.NOTICE)
    if notice:
        st.warning(notice, icon=":material/link:")
        state.put(state.NOTICE, None)


def settings() -> tuple[dict, str | None]:
    """The sidebar's settings (stored in ``ui.state``) and what was clicked: ``"sweep"``, an experiment's key, or
    None."""
    chosen = state.sweep_settings()
    _choice("Images", {key: title for key, title in IMAGES.items() if key not in SETS or (SHARED_DATA / key).is_dir()},
            "img", chosen)
    if chosen["img"] != "current":
        _number("Images per set (0 = all)", "limit", chosen, 0, 500)
    _number("Crop images to (pixels, 0 = whole)", "size", chosen, 0, 4096, step=16)
    _number("Seeds per image", "seeds", chosen, 1, 20, help="Each image gets noise from each seed; the band is the "
            "95 % confidence interval of the mean over images × seeds")
    metrics = [name for name in registry.names("metric") if name not in unavailable()]
    state.seed_widget("w.sw.metric", [m for m in chosen["metric"] if m in metrics] or ["psnr"])
    chosen["metric"] = st.multiselect("Metrics", metrics, key="w.sw.metric",
                                      format_func=lambda name: controls.title(name, "metric"))
    _number("Worker processes (0 = in this app)", "workers", chosen, 0, 64)
    if _choice("What to run", MODES, "mode", chosen) == "sweep":
        return chosen, "sweep" if _sweep_settings(chosen) else None
    found = experiments()
    clicked = [key for key, experiment in found.items()
               if st.button(experiment.title, key=f"w.sw.exp.{key}", width="stretch", icon=":material/science:")]
    chosen["exp"] = clicked[0] if clicked else chosen["exp"] if chosen["exp"] in found else next(iter(found))
    return chosen, clicked[0] if clicked else None


def _sweep_settings(chosen: dict) -> bool:
    """The noise model, its level range and the methods; True when Run was clicked."""
    models = {m.name: m.title for m in registry.methods("noise") if m.level is not None}
    state.seed_widget("w.sw.noise", chosen["noise"] if chosen["noise"] in models else "gaussian")
    chosen["noise"] = st.selectbox("Noise", list(models), format_func=models.get, key="w.sw.noise",
                                   on_change=_reset_range)
    model = registry.get(chosen["noise"], "noise")
    try:
        start, stop, count = parse_range(chosen["range"])
    except DenoiseError:
        start, stop, count = min(model.level.sweep), max(model.level.sweep), 5
    st.caption(f"Levels: {level_label(model.name, model.level.param)}, evenly spaced")
    values = []
    for column, (name, value) in zip(st.columns(3), (("from", start), ("to", stop), ("levels", count))):
        state.seed_widget(f"w.sw.range.{name}", int(value) if name == "levels" else float(value))
        values.append(column.number_input(name, key=f"w.sw.range.{name}",
                                          **({"min_value": 1, "max_value": 50} if name == "levels" else {})))
    chosen["range"] = f"{values[0]:g}:{values[1]:g}:{int(values[2])}"
    denoisers = registry.names("denoiser")
    state.seed_widget("w.sw.m", [m for m in chosen["m"] if m in denoisers])
    chosen["m"] = st.multiselect("Methods (parameters: auto)", denoisers, key="w.sw.m", format_func=controls.title)
    return st.button("Run sweep", type="primary", key="w.sw.run", width="stretch", disabled=not chosen["m"])


def image_sources(chosen: dict) -> tuple[list, int | None]:
    """The config's image sources and per-source limit: the current image (its sample, or a copy of its pixels in the
    cache folder), the samples or a test set."""
    if chosen["img"] != "current":
        source = "samples" if chosen["img"] == "samples" else chosen["img"]
        return [source], chosen["limit"] or None
    if not state.get(state.HAS_CLEAN):
        raise DenoiseError("The current image is already noisy, with no clean reference: a sweep adds its own noise "
                           "to a clean image; choose the sample images or a test set")
    sample, meta = state.get(state.SAMPLE), state.get(state.IMAGE_META)
    if sample and state.slices(meta) == 1:
        return [{"samples": [sample]}], None
    folder = cache_dir() / "sweep_images"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(sample or getattr(meta, "name", "image")).rsplit(".", 1)[0])[:40]
    path = folder / f"{stem}-{state.get(state.IMAGE_HASH)}.npy"
    if not path.exists():
        np.save(path, state.get(state.IMAGE))
    return [{"files": [str(path)], "group": "current"}], None


def parts(chosen: dict) -> list[tuple[str, str, dict]]:
    """(title, note, checked config) of each sweep the settings describe: one, or an experiment's parts."""
    images, limit = image_sources(chosen)
    common = {"images": images, "seeds": chosen["seeds"], "max_size": chosen["size"] or None, "limit": limit,
              "metrics": chosen["metric"] or ["psnr"]}
    if chosen["mode"] == "experiment":
        note = experiments()[chosen["exp"]].note
        return [(part.title, note, config) for part, config in experiment_configs(chosen["exp"], **common)]
    model = registry.get(chosen["noise"], "noise")
    levels = range_levels(model.name, model.level.param, *parse_range(chosen["range"]))
    config = sweep_config(noise=model.name, levels=levels, methods=chosen["m"], **common)
    return [(model.title, "", config)]


def _progress_text(title: str, progress) -> str:
    running = ", ".join(method_title(label) for label in progress.running)
    left = "" if progress.seconds_left is None else f" · {speed.describe(progress.seconds_left)} left"
    return (f"{title}: {progress.done} of {progress.total} image × method tasks"
            + (f" · running {running}" if running else "") + left)


def run_parts(chosen: dict, found: list[tuple[str, str, dict]], store: Store) -> None:
    """Run each sweep with a progress bar (the methods running, the time left) and a Cancel button; the rows go to
    the results store as each image × method finishes, so a cancelled sweep resumes where it stopped."""
    bar, cancel = st.progress(0.0, text="Starting…"), st.empty()
    cancel.button("Cancel", key="w.sw.cancel", icon=":material/stop:", on_click=state.put, args=(state.CANCELLED, True),
                  help="Stops after the task running now; the finished tasks stay in the results store")
    results = []
    try:
        for title, note, config in found:
            def progress(now, title=title) -> None:
                bar.progress(now.done / max(now.total, 1), text=_progress_text(title, now))
            rows = run_sweep(config, workers=chosen["workers"], store=store, progress=progress)
            results.append((title, note, config, rows))
    except DenoiseError as error:
        views.error_line(error)
        return
    finally:
        cancel.empty()
    bar.empty()
    state.put(state.SWEEP_RESULT, (dict(chosen), results))


def stored(chosen: dict, found: list[tuple[str, str, dict]], store: Store) -> None:
    """Show the sweeps the settings describe without running them when the store holds them complete (a link
    opened again)."""
    result = state.get(state.SWEEP_RESULT)
    if result is not None and result[0] == chosen:
        return
    ids = [store.complete_run(config) for _, _, config in found]
    if all(run_id is not None for run_id in ids):
        rows = [run_sweep(config, store=store) for _, _, config in found]
        state.put(state.SWEEP_RESULT, (dict(chosen), [(*part, table) for part, table in zip(found, rows)]))


def show_results(chosen: dict) -> None:
    """Each sweep of the last run: its chart, crossovers, seconds, paired test, table and downloads."""
    if state.get(state.CANCELLED):
        st.info("Sweep cancelled: the finished image × method tasks are kept; Run resumes where it stopped.")
        state.put(state.CANCELLED, False)
    result = state.get(state.SWEEP_RESULT)
    if result is None:
        st.info("Choose the images, the noise and its levels, and the methods in the sidebar, then Run; or run one of "
                "the mismatch experiments.")
        return
    if result[0] != chosen:
        st.caption("Showing the last sweep run; the settings in the sidebar have changed since.")
    for index, (title, note, config, rows) in enumerate(result[1]):
        st.subheader(title)
        if note:
            st.markdown(note)
        show_sweep(index, config, rows)


def _lines(means: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    return [(method_title(method), group["level"].to_numpy(), group["mean"].to_numpy(), group["ci_low"].to_numpy(),
             group["ci_high"].to_numpy()) for method, group in means.groupby("method", sort=False)]


def crossover_table(found: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The crossovers as the page lists them, methods by their titles."""
    title = registry.get(metric, "metric").title
    return pd.DataFrame({"level": found["level"].round(2), title: found["value"].round(3),
                         "ahead above": found["ahead"].map(method_title),
                         "overtaken": found["behind"].map(method_title), "between levels": found["between"]})


def show_sweep(index: int, config: dict, rows: pd.DataFrame) -> None:
    """One sweep: the metric against the level with 95 % bands and crossovers, then its numbers and downloads."""
    entry = config["noise"][0]
    axis = level_label(entry["model"], entry["param"])
    metrics = list(dict.fromkeys(rows["metric"]))
    metric = st.radio("Metric", metrics, horizontal=True, key=f"w.sw.view.{index}",
                      format_func=lambda name: controls.title(name, "metric"))
    title = registry.get(metric, "metric").title
    order = {method["label"]: number for number, method in enumerate(config["methods"])}  # as chosen
    means = summary(rows, metric).sort_values("method", key=lambda c: c.map(order), kind="stable")
    found = crossovers(means, metric)
    marks = [(r.level, r.value, f"{method_title(r.ahead)} overtakes {method_title(r.behind)} at {r.level:.3g}")
             for r in found.itertuples()]
    chart_title = f"{title} against {axis}: mean and 95 % CI over images and seeds"
    views.show_chart(views.band_figure(_lines(means), title=chart_title, xaxis=axis, yaxis=title, marks=marks),
                     key=f"sw.chart.{index}")
    show_told(index, config, means, title)
    left, right = st.columns(2)
    with left:
        st.markdown("**Crossovers** (where the ranking of two methods changes)")
        if found.empty:
            st.caption("None: the ranking stays the same over the whole range.")
        else:
            st.dataframe(crossover_table(found, metric), hide_index=True, width="stretch", key=f"w.sw.cross.{index}")
    with right:
        st.markdown("**Seconds per method** (the denoiser call, per case)")
        times = seconds_per_method(rows).assign(method=lambda t: t["method"].map(method_title))
        st.dataframe(times.round(4), hide_index=True, width="stretch")
    show_paired(index, rows, metric)
    _downloads(index, config, rows, means, marks, (chart_title, axis, title))


def show_told(index: int, config: dict, means: pd.DataFrame, title: str) -> None:
    """For methods told a wrong σ: the metric against the σ told (a multiple of the true one), one line per method
    and level."""
    told = {m["label"]: (m["name"], m.get("sigma_factor", 1.0)) for m in config["methods"]}
    if all(factor == 1 for _, factor in told.values()):
        return
    frame = means.assign(name=means["method"].map(lambda label: told[label][0]),
                         factor=means["method"].map(lambda label: told[label][1])).sort_values("factor", kind="stable")
    series = [(f"{controls.title(name, 'denoiser')}, level {level:g}", group["factor"].to_numpy(),
               group["mean"].to_numpy()) for (name, level), group in frame.groupby(["name", "level"], sort=False)]
    views.show_chart(views.lines_figure(series, title=f"{title} against the σ the method is told", height=360,
                                       xaxis="σ told ÷ true σ", yaxis=title), key=f"sw.told.{index}")


def show_paired(index: int, rows: pd.DataFrame, metric: str) -> None:
    """The paired test of two chosen methods, over every level or one."""
    methods = list(dict.fromkeys(rows["method"]))
    if len(methods) < 2:
        return
    st.markdown("**Paired test** (same images, seeds and levels)")
    first_col, second_col, level_col = st.columns(3)
    first = first_col.selectbox("Method A", methods, key=f"w.sw.pair.a.{index}", format_func=method_title)
    second = second_col.selectbox("Method B", methods, index=1, key=f"w.sw.pair.b.{index}", format_func=method_title)
    levels = ["every level", *sorted(rows["level"].unique())]
    level = level_col.selectbox("Over", levels, key=f"w.sw.pair.level.{index}",
                                format_func=lambda v: v if isinstance(v, str) else f"level {v:g}")
    try:
        test = paired_test(rows, first, second, metric, None if isinstance(level, str) else level)
    except DenoiseError as error:
        st.caption(str(error))
        return
    st.markdown(paired_sentence(test))


def paired_sentence(test: dict) -> str:
    """The paired test in one sentence."""
    title = registry.get(test["metric"], "metric").title
    verdict = "the difference is real (p < 0.05)" if test["significant"] else \
        "these cases do not show a real difference (p ≥ 0.05)"
    ci = "" if np.isnan(test["ci_low"]) else f" (95 % CI {test['ci_low']:+.3f} to {test['ci_high']:+.3f})"
    return (f"{method_title(test['first'])} − {method_title(test['second'])}: {title} {test['difference']:+.3f}{ci} "
            f"over {test['n']} pairs; t = {test['t']:.2f}, p = {test['p']:.3g}: {verdict}.")


def figure_label(label: str) -> str:
    """A method's name in a downloaded figure: its title cut to 28 characters, and the σ it was told, in plain
    letters (the figure's font has no Greek)."""
    told = _TOLD.fullmatch(label)
    title = controls.title(told["name"] if told else label, "denoiser")
    title = title if len(title) <= 28 else title[:25] + "..."
    return title + (f", told {told['factor']}x sigma" if told else "")


def _downloads(index: int, config: dict, rows: pd.DataFrame, means: pd.DataFrame, marks: list,
               labels: tuple[str, str, str]) -> None:
    lines = {figure_label(method): list(zip(g["level"], g["mean"], g["ci_low"], g["ci_high"]))
             for method, g in means.groupby("method", sort=False)}
    points = [(x, y) for x, y, _ in marks]
    csv, png, svg, zipped = st.columns(4)
    drawn = {fmt: band_chart(lines, points, title=labels[0], x_label=labels[1], y_label=labels[2], fmt=fmt)
             for fmt in ("png", "svg")}
    csv.download_button("Rows (CSV)", rows.to_csv(index=False), f"sweep-{index + 1}.csv", key=f"w.sw.csv.{index}")
    png.download_button("Figure (PNG)", drawn["png"], f"sweep-{index + 1}.png", mime="image/png", key=f"w.sw.png.{index}")
    svg.download_button("Figure (SVG)", drawn["svg"], f"sweep-{index + 1}.svg", mime="image/svg+xml",
                        key=f"w.sw.svg.{index}")
    figure = bundle.Figure(labels[0], drawn["png"])
    view = {**state.url_dict(with_methods=False), **state.sweep_query(state.get(state.SWEEP_RESULT)[0])}
    bundles.sweep_download(config, len(rows), figure, view, zipped, key=f"w.sw.bundle.{index}")
    with st.expander("Rows"):
        st.dataframe(rows, hide_index=True, width="stretch")
