"""The Vote page's sections: the lecturer's round, a student's blind pairs, and the reveal."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from denoise_core import registry, samples
from denoise_core.classroom import Round, ranking_svg, record_vote, reveal, rounds, schedule
from denoise_core.errors import DenoiseError

from . import bundles, classroom, controls, memo, state, views

ZOOMED_SIDE = 480
"""A zoomed crop is enlarged by a whole factor to about this many pixels a side."""
CHOICES = {"a": "A looks better", "same": "The same", "b": "B looks better"}


def round_form() -> None:
    """The lecturer's round: images, noise, methods, pairs per student, an optional zoomed crop; opening it
    gives the class code and the link."""
    names = [sample.name for sample in samples.samples()]
    titles = {sample.name: sample.title for sample in samples.samples()}
    images = st.multiselect("Images", names, default=names[:1], format_func=titles.get, key="w.vote.images")
    models = st.multiselect("Noise", registry.names("noise"), default=["gaussian"], key="w.vote.noise",
                            format_func=lambda name: controls.title(name, "noise"),
                            help="Several noise types: the reveal ranks the methods per noise type too")
    noises = classroom.noise_rows(models, "vote")
    methods = st.multiselect("Methods (automatic parameters)", registry.names("denoiser"),
                             default=[m for m in state.DEFAULT_METHODS if m in registry.names("denoiser")],
                             format_func=controls.title, key="w.vote.methods")
    pairs = st.number_input("Pairs per student", 1, 200, 10, key="w.vote.pairs")
    seed = st.number_input("Seed of the noise", 0, 2**31 - 1, 0, key="w.vote.seed")
    crop = None
    if st.toggle("Show a zoomed crop", key="w.vote.zoom", help="Both sides show the same square, enlarged"):
        x, y, side = st.columns(3)
        crop = (x.number_input("left (px)", 0, 10_000, 0, key="w.vote.x"),
                y.number_input("top (px)", 0, 10_000, 0, key="w.vote.y"),
                side.number_input("side (px)", 16, 2_000, 96, key="w.vote.side"))
    if st.button("Open the round", type="primary", key="w.vote.open", icon=":material/how_to_vote:"):
        wanted = Round(kind="vote", images=tuple(images), noises=noises, methods=tuple(methods), pairs=int(pairs),
                       crop=crop, seed=int(seed))
        opened = _open(wanted)
        if opened is not None:
            classroom.put_code(state.VOTE_CODE, opened.code)
            state.force_widget("w.vote.code", opened.code)  # drawn below, after this


def _open(wanted: Round) -> Round | None:
    """``wanted`` opened under a new class code; None and one error line when it cannot run."""
    try:
        return rounds.open_round(classroom.store(), wanted)
    except DenoiseError as error:
        views.error_line(error)
        return None


@memo.cached(spinner="Denoising the round's images…")
def _views(code: str, condition: int, _round: Round) -> dict[str, np.ndarray]:
    """uint8 views (the file's window, the round's crop) of every method's result on one condition."""
    _, _, results, meta = rounds.outputs(_round, condition)
    factor = max(1, ZOOMED_SIDE // _round.crop[2]) if _round.crop else 1  # a crop enlarged pixel by pixel
    return {method: views.magnify(rounds.view(_round, image, meta), factor) for method, image in results.items()}


def _vote(round_: Round, pair: rounds.Pair, choice: str) -> None:
    """Store this session's ``choice`` on ``pair`` and show the next pair; a store that cannot take it is one line."""
    try:
        record_vote(classroom.store(), round_, state.anonymous_id(), pair, choice)
    except DenoiseError as error:
        views.error_line(error)
        return
    voted = state.get(state.VOTED)
    state.put(state.VOTED, {**voted, round_.code: {**voted.get(round_.code, {}), pair.index: choice}})
    st.rerun()


def ballot(round_: Round) -> None:
    """This session's next pair, names hidden, and the three choices; a thank-you once all are judged."""
    pairs = schedule(round_, state.anonymous_id())
    done = state.get(state.VOTED).get(round_.code, {})
    st.progress(len(done) / len(pairs), text=f"{len(done)} of {len(pairs)} pairs judged")
    waiting = [pair for pair in pairs if pair.index not in done]
    if not waiting:
        st.success("Every pair judged: thank you. The lecturer reveals the ranking.", icon=":material/done_all:")
        return
    pair = waiting[0]
    shown = _views(round_.code, pair.condition, round_)
    st.caption("Which looks better? Both sides show the same image and noise, in the same window and zoom; "
               "the methods are hidden.")
    for column, side in zip(st.columns(2), (pair.a, pair.b)):
        column.image(shown[side], caption="A" if side == pair.a else "B", width="stretch")
    for column, (choice, label) in zip(st.columns(3), CHOICES.items()):
        if column.button(label, key=f"w.vote.{choice}", width="stretch",
                         type="primary" if choice != "same" else "secondary"):
            _vote(round_, pair, choice)


@st.cache_data(show_spinner="Measuring PSNR, SSIM and LPIPS of every method…", max_entries=16)
def _scores(code: str, _round: Round) -> list[dict]:
    return rounds.scores(_round)


def _noise_title(label: str) -> str:
    """A noise label of the reveal ("gaussian", "gaussian #2", "all") as the page writes it."""
    model, mark, place = label.partition(" #")
    return "All noise types" if label == "all" else controls.title(model, "noise") + mark + place


def _titled(table: pd.DataFrame) -> pd.DataFrame:
    """A reveal table with titles instead of ids."""
    named = table.assign(noise=table["noise"].map(_noise_title))
    return named.assign(method=named["method"].map(controls.title)) if "method" in named else named


def reveal_view(round_: Round) -> None:
    """The lecturer's reveal: the ranking by eye beside the metrics' and Kendall τ, as tables, a figure, CSV."""
    votes = classroom.store().votes(round_.code)
    st.markdown(f"#### Reveal · {len(votes)} votes from {votes['voter'].nunique()} students")
    if votes.empty or not st.toggle("Reveal the ranking", key="w.vote.reveal",
                                    help="Shows the names: reveal once the class has voted"):
        return
    ranking, taus = reveal(round_, votes, _scores(round_.code, round_))
    figure = ranking_svg(ranking, taus)
    st.image(figure, width="content")
    st.dataframe(_titled(ranking), hide_index=True, key="w.vote.table")
    st.markdown("Rank correlation of each metric with the eye (Kendall τ-b; 1: the same order, −1: reversed)")
    st.dataframe(_titled(taus), hide_index=True)
    st.caption("Strength: Bradley–Terry on a log scale (mean 0), a \"same\" counting half a win to each side; "
               "95 % interval from 200 bootstrap resamples of the votes (seed 0); metrics: means over the round's "
               f"images against the clean image; noise seeds {round_.seed} and up.")
    files = st.columns(5)
    files[0].download_button("Ranking (CSV)", ranking.to_csv(index=False), f"vote-{round_.code}-ranking.csv",
                             "text/csv", key="w.vote.csv")
    files[1].download_button("Kendall τ (CSV)", taus.to_csv(index=False), f"vote-{round_.code}-kendall.csv",
                             "text/csv", key="w.vote.tau")
    files[2].download_button("Figure (SVG)", figure, f"vote-{round_.code}.svg", "image/svg+xml", key="w.vote.svg")
    files[3].download_button("Round settings (JSON)", json.dumps({"code": round_.code, **round_.config()}, indent=1),
                             f"vote-{round_.code}.json", "application/json", key="w.vote.json")
    bundles.vote_download(round_, votes, ranking, taus, figure.encode(), files[4])
