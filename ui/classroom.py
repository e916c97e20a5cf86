"""Classroom mode in the app: the lecturer's passcode, and the gate in front of what reaches the server's
own files or changes it (a server folder, weights import and download, deleting runs, running a benchmark,
opening rounds).

Outside classroom mode (``$DENOISE_WORKBENCH_CLASSROOM_PASSCODE`` unset) every session is the lecturer.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from denoise_core import paths, registry, samples
from denoise_core.benchmark.store import Store
from denoise_core.classroom import classroom_mode, passcode_matches, rounds
from denoise_core.errors import DenoiseError

from . import controls, state, views

ROUND_PARAM = "round"
"""The link's query parameter that carries a class code."""


def lecturer() -> bool:
    """Whether this session may reach the server's files and change it."""
    return not classroom_mode() or bool(state.get(state.LECTURER))


def passcode_box() -> None:
    """In classroom mode, the sidebar's passcode field; a right passcode makes this session the lecturer's."""
    if not classroom_mode():
        return
    if state.get(state.LECTURER):
        st.caption("Lecturer: server folders, weights, runs and rounds are open to this session.")
        st.button("Leave the lecturer's mode", key="w.class.leave", on_click=state.put, args=(state.LECTURER, False))
        return
    given = st.text_input("Lecturer passcode", type="password", key="w.class.passcode",
                          help="This server is shared by a class: the lecturer's passcode opens server folders, "
                               "weights, runs and rounds")
    if given and passcode_matches(given):
        state.put(state.LECTURER, True)
        st.rerun()
    elif given:
        st.caption("Not the lecturer's passcode.")


def lecturer_only(what: str) -> bool:
    """True for the lecturer; for a student, False and one line saying ``what`` is the lecturer's."""
    if lecturer():
        return True
    st.caption(f"{what}: the lecturer's alone on this shared server (passcode in the sidebar).")
    return False


def store() -> Store:
    """The results store every session shares (``$DENOISE_WORKBENCH_DB``, else the default file)."""
    return _store(str(paths.results_db()))


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path)


def link(code: str) -> str:
    """The address a student opens to join round ``code`` on this page (this server's address as the lecturer's
    browser reached it)."""
    here = (getattr(st.context, "url", None) or "").split("?")[0]
    return f"{here}?{ROUND_PARAM}={code}"


def joining(key: str) -> bool:
    """Whether this session has a round of state ``key`` or a link that names one."""
    return bool(state.get(key) or st.query_params.get(ROUND_PARAM))


def join(kind: str, key: str) -> rounds.Round | None:
    """The class code box (filled from the link's ``round=``), and the round of ``kind`` it names, kept in state
    ``key``; None until a code is given, or with one error line when no such round exists."""
    given = st.query_params.get(ROUND_PARAM)
    if given and given != state.get(key):
        state.put(key, given)
        state.force_widget(f"w.{kind}.code", given)
    state.seed_widget(f"w.{kind}.code", state.get(key) or "")
    code = "".join(st.text_input("Class code", key=f"w.{kind}.code", max_chars=12,
                                 help="The code your lecturer gave, or open the link they shared").split()).upper()
    if not code:
        return None
    put_code(key, code)
    try:
        found = rounds.load_round(store(), code)
    except DenoiseError as error:
        views.error_line(error)
        return None
    if found.kind != kind:
        views.error_line(f"class code {code} is a {found.kind}: open it on the {found.kind.capitalize()} page")
        return None
    return found


def round_page(kind: str, key: str, opener: str, form: Callable[[], None],
               student: Callable[[rounds.Round], None], results: Callable[[rounds.Round], None]) -> None:
    """The layout of a classroom page: the lecturer's ``form`` that opens a round (under ``opener``), then the round
    joined (its code in session key ``key``): the lecturer sees its code, everyone the ``student`` part, and the
    lecturer the ``results`` under it."""
    if lecturer():
        with st.expander(opener, icon=":material/add_circle:", expanded=not joining(key)):
            form()
    joined = join(kind, key)
    if joined is None:
        return
    if lecturer():
        show_code(joined)
    student(joined)
    if lecturer():
        st.divider()
        results(joined)


def put_code(key: str, code: str) -> None:
    """Make ``code`` the round of state ``key`` and of the link (as this session's own link, so the next run
    does not take it for a new link and reset the widgets)."""
    state.put(key, code)
    if st.query_params.get(ROUND_PARAM) != code:
        st.query_params[ROUND_PARAM] = code
        state.put(state.URL, state.current_url())


def show_code(round_: rounds.Round) -> None:
    """The class code, large, the link that joins it and what the round shows."""
    st.success(f"Class code **{round_.code}**", icon=":material/key:")
    st.code(link(round_.code), language=None)
    st.caption(describe(round_))


def describe(round_: rounds.Round) -> str:
    """The round's settings in one line, levels in the units the page shows (σ in /255)."""
    titles = {sample.name: sample.title for sample in samples.samples()}
    noises = []
    for noise in round_.noises:
        method = registry.get(noise["model"], "noise")
        shown = controls.level_units(method, None)
        values = [f"{name} {value * shown[name][0]:.4g}{shown[name][1]}" if name in shown else f"{name} {value}"
                  for name, value in noise["params"].items()]
        noises.append(f"{method.title} ({', '.join(values)})")
    parts = [f"Images: {', '.join(titles.get(name, name) for name in round_.images)}", f"noise: {'; '.join(noises)}"]
    if round_.methods:
        parts += [f"methods: {', '.join(map(controls.title, round_.methods))}", f"{round_.pairs} pairs per student"]
    if round_.crop:
        parts.append(f"zoomed crop {round_.crop[2]} px at ({round_.crop[0]}, {round_.crop[1]})")
    return " · ".join(parts + [f"noise seed {round_.seed}"])


def noise_rows(models: list[str], scope: str) -> tuple[dict, ...]:
    """Each chosen noise model's parameters from its schema (levels shown as the page shows them, σ in /255)."""
    chosen = []
    for name in models:
        method = registry.get(name, "noise")
        st.markdown(f"**{method.title}**")
        shown = controls.level_units(method, None)
        chosen.append({"model": name, "params": controls.param_widgets(method, {}, f"{scope}.noise", shown=shown)})
    return tuple(chosen)
