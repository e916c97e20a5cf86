"""The Challenge page's sections: the lecturer's challenge and leaderboard, a student's attempt on the noisy
image alone."""
from __future__ import annotations

import numpy as np
import streamlit as st

from denoise_core import apply, registry, samples
from denoise_core.classroom import Round, leaderboard, rounds, submit
from denoise_core.errors import DenoiseError

from . import cache, classroom, controls, memo, page, state, views


def challenge_form() -> None:
    """The lecturer's challenge: one sample image, its noise and seed; opening it gives the code and the link."""
    titles = {sample.name: sample.title for sample in samples.samples()}
    image = st.selectbox("Image", list(titles), format_func=titles.get, key="w.chal.image")
    model = st.selectbox("Noise", registry.names("noise"), index=registry.names("noise").index("gaussian"),
                         format_func=lambda name: controls.title(name, "noise"), key="w.chal.noise")
    noises = classroom.noise_rows([model], "chal")
    seed = st.number_input("Seed of the noise", 0, 2**31 - 1, 0, key="w.chal.seed")
    if st.button("Open the challenge", type="primary", key="w.chal.open", icon=":material/emoji_events:"):
        try:
            opened = rounds.open_round(classroom.store(), Round(kind="challenge", images=(image,), noises=noises,
                                                                seed=int(seed)))
        except DenoiseError as error:
            views.error_line(error)
            return
        classroom.put_code(state.CHALLENGE_CODE, opened.code)
        state.force_widget("w.challenge.code", opened.code)  # drawn below, after this


@memo.cached(spinner="Adding the challenge's noise…")
def _noisy(code: str, _round: Round) -> tuple[np.ndarray, np.ndarray]:
    """The noisy image of challenge ``code`` and its uint8 view (the clean image stays on the server)."""
    _, noisy, _, meta = rounds.outputs(_round, 0)
    return noisy, rounds.view(_round, noisy, meta)


@memo.cached(spinner="Denoising…")
def _attempt(code: str, method: str, params: tuple, _round: Round) -> np.ndarray:
    """uint8 view of ``method`` at ``params`` on the challenge's noisy image."""
    noisy, _ = _noisy(code, _round)
    _, meta = samples.load_sample(_round.images[0])
    return rounds.view(_round, apply.denoise(noisy, method, dict(params), auto=False), meta)


def attempt(round_: Round) -> None:
    """A student's attempt: a method and its parameters on the noisy image, the result beside it, and Submit."""
    noisy, shown = _noisy(round_.code, round_)
    titles = {m.name: m.title for m in registry.methods("denoiser")}
    method = registry.get(st.selectbox("Method", list(titles), format_func=titles.get, key="w.chal.method"),
                          "denoiser")
    params = method.resolve(controls.param_widgets(method, {}, "chal.den"))
    result = page.guarded(_attempt, round_.code, method.name, cache.freeze(params), round_)
    views.show_row([("Noisy", shown), (method.title, result)],
                   captions=["what you are given", controls.format_params(params)])
    name = st.text_input("Your name on the leaderboard", key="w.chal.name", max_chars=40)
    if st.button("Submit", type="primary", key="w.chal.submit", icon=":material/send:"):
        try:
            stored, _ = submit(classroom.store(), round_, state.anonymous_id(), name, method.name, params)
        except DenoiseError as error:
            views.error_line(error)
            return
        state.put(state.SUBMITTED, {**state.get(state.SUBMITTED),
                                    round_.code: [*state.get(state.SUBMITTED).get(round_.code, []),
                                                  (method.name, params, stored)]})
    sent = state.get(state.SUBMITTED).get(round_.code, [])
    if sent:
        last = sent[-1]
        st.success(f"Submitted {len(sent)} time(s); the last, {controls.title(last[0])} "
                   f"({controls.format_params(last[1])}), " + ("is stored." if last[2] else
                                                              "was stored already: it counts once."),
                   icon=":material/done:")


def board(round_: Round) -> None:
    """The lecturer's leaderboard: every student's best submission, scored against the hidden clean image."""
    sent = classroom.store().submissions(round_.code)
    st.markdown(f"#### Leaderboard · {len(sent)} submissions from {sent['student'].nunique()} students")
    table = leaderboard(sent)
    if table.empty:
        st.info("No submissions yet.")
        return
    shown = table.assign(method=table["method"].map(controls.title))
    st.dataframe(shown, hide_index=True, key="w.chal.board",
                 column_config={"psnr": st.column_config.NumberColumn("PSNR (dB)", format="%.2f"),
                                "ssim": st.column_config.NumberColumn("SSIM", format="%.4f")})
    st.caption(f"Scored against the clean image, which the students never see; noise seed {round_.seed}.")
    st.download_button("Leaderboard (CSV)", table.to_csv(index=False), f"challenge-{round_.code}.csv", "text/csv",
                       key="w.chal.csv")
    if st.toggle("Show the clean image", key="w.chal.clean"):
        clean, _, _, meta = rounds.outputs(round_, 0)
        st.image(rounds.view(round_, clean, meta), caption="Clean (hidden from the students)", width=360)
