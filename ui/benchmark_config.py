"""The Benchmark page's config: a ready-made file or one built with the sidebar widgets, checked by the library."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from denoise_core import registry
from denoise_core.benchmark import NAMED_SETS, checked_folder, load_config
from denoise_core.errors import DenoiseError
from denoise_core.metrics import unavailable
from denoise_core.paths import SHARED_DATA, image_roots

from . import classroom, controls, state, views, zoo

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
SET_TITLES = {"set12": "Set12", "bsd68": "BSD68"}
FAST_METHODS = ("median", "gaussian", "mean")


def image_sources() -> dict[str, str]:
    """Image set label -> config source, for the sets present on this computer."""
    sets = {SET_TITLES[name]: name for name in NAMED_SETS if (SHARED_DATA / name).is_dir()}
    folder = {"A folder on this computer": "folder"} if classroom.lecturer() else {}  # a student reads no server folder
    return {"Sample images": "samples", **sets, **folder}


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
    if not classroom.lecturer():
        raise DenoiseError("a folder on this server is the lecturer's alone to read in classroom mode")
    folder = checked_folder(text, image_roots())
    return {"folder": str(folder), "group": folder.name}


def metric_choice() -> list[str]:
    """The metrics multiselect, with the availability of those that need weights next to it."""
    metrics = st.multiselect("Metrics", registry.names("metric"), ["psnr", "ssim"], key="w.bench.metrics",
                             format_func=lambda name: controls.title(name, "metric"))
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
                             format_func=controls.title, key="w.bench.methods")
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
            config = load_config(st.selectbox("Ready-made config", files, format_func=lambda path: path.stem,
                                              key="w.bench.file"))
        else:
            config = load_config(built_config())
        return {**config, "name": run_name(config["name"])}
    except DenoiseError as error:
        views.error_line(error)
        return None


def run_name(config_name: str) -> str:
    """The name the run gets in the results store: the user's, by default the config's and today's date."""
    default = f"{config_name} {date.today().isoformat()}"
    state.seed_widget("w.bench.name", default)
    return st.text_input("Run name", key="w.bench.name", max_chars=80,
                         help="How this run is listed in the results store; a new name starts a new run").strip() \
        or default
