"""Widgets built from a method's ``Param`` schema, so a newly registered method needs no UI code.

Widget keys are ``w.<scope>.<method>.<param>``; the values live in ``ui.state`` between pages.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import streamlit as st

from denoise_core import registry, weights
from denoise_core.apply import MAX_SEED
from denoise_core.deidentify import has_patient_name
from denoise_core.registry import BoolParam, ChoiceParam, FloatParam, IntParam, Param

from . import state, units, zoo


def _float_step(param: FloatParam) -> float:
    return float(param.step) if param.step else (param.hi - param.lo) / 100


def _clamp(param: Param, value: Any) -> Any:
    if isinstance(param, (FloatParam, IntParam)):
        value = min(max(value, param.lo), param.hi)
        return int(round(value)) if isinstance(param, IntParam) else float(value)
    if isinstance(param, ChoiceParam) and value not in param.choices:
        return param.default
    return value


def param_widget(param: Param, key: str, *, disabled: bool = False, container=st, shown: tuple[float, str] = (1.0, "")) -> Any:
    """One widget for ``param``; its value is in ``st.session_state[key]`` (seed it first). ``shown``: a number
    parameter is shown × that factor, in that unit (σ × 255 as '/255'); the value returned is the parameter's."""
    label, help_text = param.name.replace("_", " "), param.help or None
    factor, unit = shown
    if isinstance(param, FloatParam) and param.log:
        return _log_slider(param, key, label, help_text, disabled, container)
    if isinstance(param, FloatParam) and factor != 1:
        st.session_state[key] = min(max(float(st.session_state[key]), param.lo * factor), param.hi * factor)
        step = _nice(_float_step(param) * factor)
        value = container.slider(f"{label} ({unit})", float(param.lo * factor), float(param.hi * factor), step=step,
                                 key=key, help=help_text, disabled=disabled, format="%.1f" if step < 1 else "%.0f")
        return value / factor
    st.session_state[key] = _clamp(param, st.session_state[key])
    if isinstance(param, BoolParam):
        return container.toggle(label, key=key, help=help_text, disabled=disabled)
    if isinstance(param, ChoiceParam):
        return container.selectbox(label, param.choices, key=key, help=help_text, disabled=disabled,
                                   format_func=str)
    if isinstance(param, IntParam):
        return container.slider(label, int(param.lo), int(param.hi), step=int(param.step or 1), key=key,
                                help=help_text, disabled=disabled)
    if isinstance(param, FloatParam):
        step = _float_step(param)
        decimals = max(0, min(6, len(f"{step:.6f}".rstrip("0").split(".")[1])))
        return container.slider(label, float(param.lo), float(param.hi), step=step, key=key, help=help_text,
                                disabled=disabled, format=f"%.{decimals}f")
    return container.text_input(label, key=key, help=help_text, disabled=disabled)


def _nice(step: float) -> float:
    """The largest of 1, 2, 5 × a power of ten that is at most ``step`` (0.255 -> 0.2)."""
    power = 10.0 ** np.floor(np.log10(step))
    return float(max(m * power for m in (1, 2, 5) if m * power <= step * (1 + 1e-9)))


def _log_slider(param: FloatParam, key: str, label: str, help_text: str | None, disabled: bool, container) -> float:
    """A parameter that spans decades: 1, 2, 5 × each power of ten between its bounds, and its current value."""
    current = float(_clamp(param, st.session_state[key]))
    st.session_state[key] = current
    decades = range(int(np.floor(np.log10(param.lo))), int(np.ceil(np.log10(param.hi))) + 1)
    ticks = {m * 10.0 ** d for d in decades for m in (1, 2, 5) if param.lo <= m * 10.0 ** d <= param.hi}
    return container.select_slider(f"{label} (logarithmic)", sorted(ticks | {current}), key=key, help=help_text,
                                   disabled=disabled, format_func=lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")


def param_widgets(method: registry.Method, values: dict, scope: str, *, disabled: bool = False,
                  force: bool = False, container=st, shown: dict[str, tuple[float, str]] | None = None) -> dict:
    """Widgets for all of ``method``'s parameters, seeded from ``values``; returns the chosen values.
    ``shown``: {parameter: (factor, unit)} for those shown in other units than their own."""
    out = {}
    for param in method.params:
        key = f"w.{scope}.{method.name}.{param.name}"
        value, units_shown = values.get(param.name, param.default), (shown or {}).get(param.name, (1.0, ""))
        if units_shown[0] != 1:
            value *= units_shown[0]
        (state.force_widget if force else state.seed_widget)(key, value)
        out[param.name] = param_widget(param, key, disabled=disabled, container=container, shown=units_shown)
    return out


def level_units(method: registry.Method, meta) -> dict[str, tuple[float, str]]:
    """How a noise model's level is shown where it is not in its own units: σ in /255, and in HU on a CT."""
    level = method.level
    if level is None or level.scale == 1:
        return {}
    if meta is not None and meta.units == "HU":
        return {level.param: (units.span(meta), "HU")}
    return {level.param: (level.scale, f"/{level.scale:g}")}


STAGE_TITLES = {"clean": "No noise (clean)", "classify": "Noise classifier"}
"""Titles of the names that are not registered methods: the classifier's 'clean' class and its stage."""


def title(name: str, kind: str | None = None) -> str:
    """What a person reads for a registered name of ``kind`` (any kind, a denoiser first, when not given) or a
    noise type (``kind="noise"``): ``salt_pepper`` -> 'Salt and pepper (impulse)'."""
    found = [m.title for m in sorted(registry.methods(kind), key=lambda m: m.kind != "denoiser") if m.name == name]
    return found[0] if found else STAGE_TITLES.get(name, name)


def format_params(values: dict) -> str:
    parts = []
    for name, value in values.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{name}={text}")
    return ", ".join(parts) or "no parameters"


def noise_controls(container=st, *, scope: str = "noise") -> tuple[str, dict, int]:
    """Noise model picker, its parameters and the seed; stores them in ``ui.state``."""
    models = registry.methods("noise")
    titles = {m.name: m.title for m in models}
    state.seed_widget("w.noise.model", state.get(state.NOISE))
    model = container.selectbox("Noise model", list(titles), format_func=titles.get, key="w.noise.model",
                                help="Every noise model registered in denoise_core")
    state.put(state.NOISE, model)
    method = registry.get(model, "noise")
    if method.summary:
        container.caption(method.summary)
    values = param_widgets(method, state.noise_params(model), scope, container=container,
                           shown=level_units(method, state.get(state.IMAGE_META)))
    state.put(state.NOISE_PARAMS, {**state.get(state.NOISE_PARAMS), model: values})
    state.seed_widget("w.noise.seed", int(state.get(state.SEED)))
    seed = container.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key="w.noise.seed",
                                  help="The random generator's seed: the same seed gives the same noise")
    state.put(state.SEED, int(seed))
    return model, method.resolve(values), int(seed)


def deidentify_toggle(meta, key: str, container=st) -> bool:
    """The de-identification choice shown next to a DICOM download; on by default when the header names a
    patient."""
    state.seed_widget(key, has_patient_name(meta.dicom_header if meta is not None else None))
    return container.toggle("De-identify the DICOM header", key=key,
                            help="DICOM basic confidentiality profile: patient and staff names, IDs and every "
                                 "instance UID replaced (consistently within this session), dates shifted, "
                                 "private elements removed. Off: the source's header is kept as it is.")


def method_picker(container=st) -> list[str]:
    """Denoisers to compare, straight from the registry: classical ones, then the learned models made for the
    current noise, then those made for other noise (with a note), then the published models to download."""
    chosen = [m for m in state.get(state.METHODS) if m in registry.names("denoiser")]
    groups: dict[str, list[registry.Method]] = {}
    for method in registry.methods("denoiser"):
        groups.setdefault(method.family or "other", []).append(method)
    order = ["classical", "learned"] + sorted(set(groups) - {"classical", "learned"})
    picked: list[str] = []
    for family in order:
        sections = _learned_sections(groups.get(family, [])) if family == "learned" else \
            [(family, f"{family.capitalize()} methods", groups.get(family, []), "")]
        for key, label, members, note in sections:
            if not members:
                continue
            titles = {m.name: m.title for m in members}
            state.seed_widget(f"w.methods.{key}", [m for m in chosen if m in titles])
            picked += container.multiselect(label, list(titles), format_func=titles.get, key=f"w.methods.{key}",
                                            placeholder="Choose methods")
            if note:
                container.caption(note)
        if family == "learned":
            if not groups.get("learned"):
                container.caption("Learned methods: none registered yet (download a published one below, or bring "
                                  "your own weights on the Model Lab).")
            with container.expander("Published models (download once, then offline)", icon=":material/download:"):
                zoo.offer_models("methods")
    # keep the user's order: previously chosen first, new ones appended
    ordered = [m for m in chosen if m in picked] + [m for m in picked if m not in chosen]
    state.put(state.METHODS, ordered)
    return ordered


def _learned_sections(members: list[registry.Method]) -> list[tuple[str, str, list[registry.Method], str]]:
    """(key, label, models, note): those trained for the noise being added first, then the others."""
    noise = state.get(state.NOISE) if state.get(state.HAS_CLEAN) else None
    if noise is None:
        return [("learned", "Learned methods", members, "")]
    trained = {name: entry.noise for name, entry in weights.entries().items()}
    own = [m for m in members if trained.get(m.name) == noise]
    other = [m for m in members if trained.get(m.name) != noise]
    return [("learned", f"Learned methods made for {title(noise, 'noise').split(' (')[0]} noise", own, ""),
            ("learned_other", "Learned, made for other noise", other,
             "Trained for another noise than the one added here: they may do little, or score below the "
             "noisy input (a low-dose CT model on a photo, an impulse model on Gaussian noise).")]


def method_controls(method: registry.Method, auto_values: Callable[[], dict], container=st) -> tuple[dict, bool]:
    """A method's controls with its "auto" toggle; returns (parameters to run with, auto on?).

    With auto on the sliders are disabled and show what auto picked from the estimated noise
    level; switching auto off starts from those values.
    """
    auto_key = f"w.auto.{method.name}"
    auto = False
    if method.auto is not None:
        state.seed_widget(auto_key, state.method_auto(method.name))
        was_auto = st.session_state.get(state.WAS_AUTO + auto_key, st.session_state[auto_key])
        auto = container.toggle("auto", key=auto_key,
                                help="Pick the parameters from the noise level estimated on the noisy image")
        st.session_state[state.WAS_AUTO + auto_key] = auto
        state.put(state.METHOD_AUTO, {**state.get(state.METHOD_AUTO), method.name: auto})
    if auto:
        values = param_widgets(method, auto_values(), "den", disabled=True, force=True, container=container)
    else:
        start = auto_values() if method.auto is not None and was_auto else state.method_params(method.name)
        values = param_widgets(method, start, "den", force=method.auto is not None and was_auto,
                               container=container)
        state.put(state.METHOD_PARAMS, {**state.get(state.METHOD_PARAMS), method.name: values})
    if not method.params:
        container.caption("No parameters.")
    return method.resolve(values), auto
