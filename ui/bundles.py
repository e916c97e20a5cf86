"""Reproducible bundles in the app: Denoise & Compare's and a benchmark run's bundle to download, and a bundle opened
(on Home) that reopens the comparison it came from."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from denoise_core import apply, bundle, metrics, registry
from denoise_core.classroom import Round, rounds
from denoise_core.benchmark.store import Store
from denoise_core.errors import BundleError, DenoiseError, one_line

from . import cache, compare, controls, memo, page, state, views

PAGES = {"compare": "pages/2_Denoise_and_Compare.py", "sweep": "pages/6_Sweeps.py"}
"""The page a bundle of each kind reopens at its view."""
VERIFY = "python -m denoise_core bundle verify FILE.zip"


def compare_shots(clean: np.ndarray | None, noisy: np.ndarray, noisy_key: str, results: list) -> list[bundle.Shot]:
    """The noisy input and each result of Denoise & Compare with the scores the page shows (cached): every metric
    against the clean image, or without one the noise σ still estimated in each image."""
    items = [(bundle.NOISY, None, {}, noisy_key, noisy, math.nan)]
    items += [(r.name, r.name, r.params, r.key, r.image, r.seconds) for r in results]
    shots = []
    for label, method, params, key, image, seconds in items:
        if clean is None:
            scores = {bundle.ESTIMATED_SIGMA: cache.noise_level(key, image)["sigma"]}
        else:
            scores = cache.measure(state.get(state.IMAGE_HASH), clean, key, image)
        shots.append(bundle.Shot(label, method, params, image, seconds, scores))
    return shots


def compare_download(clean: np.ndarray | None, noisy: np.ndarray, noisy_key: str, results: list, recipe: str,
                     noise: tuple[str, dict, int] | None) -> None:
    """The bundle of this comparison (``noise``: the model, parameters and seed that made ``noisy`` from ``clean``;
    None without a clean image), its report showing every panel; a DICOM source is de-identified unless the switch
    beside it is turned off."""
    meta = state.get(state.IMAGE_META)
    tiles = [(label, page.screen(key, image)) for label, key, image in compare.panels(clean, noisy, noisy_key, results)]
    figure = bundle.Figure(f"The comparison: {recipe}", views.figure_png(tiles, columns=4, title=recipe))
    st.markdown("##### Reproducible bundle")
    deidentify = bool(meta is not None and meta.dicom_header) and controls.deidentify_toggle(meta, "w.deid.bundle")
    pixels, (model, params, seed) = (noisy, (bundle.NO_NOISE, {}, 0)) if noise is None else (clean, noise)
    sample, secret, view = state.get(state.SAMPLE), state.get(state.SECRET), state.url_dict(with_methods=True)
    source = bundle.Input("compare", sample or meta.name, pixels, meta, sample)
    key = repr((state.get(state.IMAGE_HASH), noisy_key, [r.key for r in results], sorted(view.items())))
    try:
        data = _compare_zip(secret, key, source, compare_shots(clean, noisy, noisy_key, results), model,
                            cache.freeze(params), seed, view, secret if deidentify else None, figure)
    except DenoiseError as error:
        views.error_line(error)
        return
    st.download_button("Bundle (zip)", data=data, file_name=f"{page.download_stem(meta, deidentify)}_bundle.zip",
                       mime="application/zip", key="w.dl.bundle", icon=":material/package_2:", on_click="ignore",
                       help="manifest.json (versions, machine, seeds, every parameter), results.csv, the input, the "
                            f"outputs and report.html; `{VERIFY}` recomputes every number, and Home reopens it")
    st.caption(f"{len(data) / 1e6:.2f} MB · opens again on Home (Open a bundle) · `{VERIFY}` recomputes every number")


@memo.cached(spinner="Writing the bundle…")
def _compare_zip(session: str, key: str, _source: bundle.Input, _shots: list[bundle.Shot], noise: str, params: tuple,
                 seed: int, _view: dict, deidentify_key: str | None, _figure: bundle.Figure) -> bytes:
    """The comparison's bundle, kept per session (``session``: its secret; a DICOM output may carry its patient's
    header) and ``key`` (the image, the noisy image, each result and the view)."""
    return bundle.compare_bundle(_source, _shots, noise=noise, noise_params=dict(params), seed=seed, view=_view,
                                 deidentify_key=deidentify_key, figures=[_figure])


@st.cache_data(max_entries=4, show_spinner="Writing the bundle…")
def _run_zip(db: str, run_id: int, rows: int, outputs: bool, kind: str = "benchmark",
             _figures: tuple[bundle.Figure, ...] = (), view: tuple = ()) -> bytes:
    """A stored run's bundle (``rows`` keys the cache to the run's state; ``view``: the link's items)."""
    return bundle.benchmark_bundle(Store(db), run_id, outputs=outputs, kind=kind, figures=_figures, view=dict(view))


def sweep_download(config: dict, rows: int, figure: bundle.Figure, view: dict, column, key: str) -> None:
    """A sweep's bundle to download in ``column`` (its run in the results store, its figure in the report, ``view``
    the Sweeps link that reopens it)."""
    store = Store()
    run_id = store.complete_run(config)
    if run_id is None:
        return
    try:
        data = _run_zip(str(store.path), run_id, rows, False, "sweep", (figure,),
                        tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(view.items())))
    except DenoiseError as error:
        views.error_line(error)
        return
    column.download_button("Bundle (zip)", data, f"sweep-run-{run_id}-bundle.zip", "application/zip", key=key,
                           icon=":material/package_2:", help=f"`{VERIFY}` recomputes every number of the sweep")


def benchmark_download(store: Store, runs: pd.DataFrame, run_id: int) -> None:
    """A stored run's bundle to download: its rows, its clean images and config, optionally every output image."""
    rows = int(runs.set_index("id").loc[run_id, "rows"])
    outputs = st.checkbox("With the output images (recomputes every case: about as long as the run)",
                          key="w.bench.bundle.outputs")
    try:
        data = _run_zip(str(store.path), run_id, rows, outputs)
    except DenoiseError as error:
        views.error_line(error)
        return
    st.download_button("Download bundle (zip)", data, f"run-{run_id}-bundle.zip", mime="application/zip",
                       key="w.bench.bundle", icon=":material/package_2:",
                       help=f"A reproducible bundle: `{VERIFY}` recomputes every number of the run")


@memo.cached(spinner="Writing the round's bundle…")
def _vote_zip(code: str, votes: int, _round: Round, _attachments: dict, _figure: bundle.Figure) -> bytes:
    """A vote round's bundle (``votes`` keys it to the votes counted): every condition's clean image, every
    method's scores with the parameters its automatic rule chose, the votes and rankings as attachments."""
    names = ["psnr", "ssim"] + (["lpips"] if metrics.available("lpips") else [])
    frames, inputs = [], {}
    for condition, (image, index) in enumerate(rounds.conditions(_round)):
        clean, noisy, results, meta = rounds.outputs(_round, condition)
        noise = _round.noises[index]
        inputs.setdefault(image, bundle.Input("vote", image, clean, meta, image))
        measured = [(method, apply.resolve(registry.get(method, "denoiser"), noisy),
                     metrics.measure(clean, result, names), math.nan) for method, result in results.items()]
        frames.append(bundle.compare_rows(image, noise["model"], noise["params"], _round.seed + condition, measured))
    return bundle.write_bundle("vote", pd.concat(frames).assign(group="vote"), list(inputs.values()),
                               {method: method for method in _round.methods}, figures=[_figure],
                               context={"round": {"code": code, **_round.config()}}, attachments=_attachments)


def vote_download(round_: Round, votes: pd.DataFrame, ranking: pd.DataFrame, taus: pd.DataFrame, svg: bytes,
                  column) -> None:
    """A vote round's bundle to download in ``column``: its numbers verify; the votes, the ranking and Kendall τ
    travel with it as they are."""
    attachments = {"votes.csv": votes.to_csv(index=False).encode(), "ranking.csv": ranking.to_csv(index=False).encode(),
                   "kendall.csv": taus.to_csv(index=False).encode()}
    try:
        data = _vote_zip(round_.code, len(votes), round_, attachments,
                         bundle.Figure("The eye against the metrics", svg, "image/svg+xml"))
    except DenoiseError as error:
        views.error_line(error)
        return
    column.download_button("Bundle (zip)", data, f"vote-{round_.code}-bundle.zip", "application/zip",
                           key="w.vote.bundle", icon=":material/package_2:",
                           help=f"The round's scores, images and votes; `{VERIFY}` recomputes every score")


def open_box() -> None:
    """Open a bundle: a Denoise & Compare or a sweep bundle reopens its page as it was (image, noise, seed, methods,
    parameters, view); another kind shows its leaderboard. A bundle that cannot be read is one error line."""
    upload = st.file_uploader("Open a bundle (.zip)", type=["zip"], key="w.bundle.open",
                              help="A bundle downloaded from Denoise & Compare or the Benchmark page")
    if upload is None:
        return
    data = upload.getvalue()
    token = (upload.name, len(data), upload.file_id)
    try:
        opened = bundle.read_bundle(data)
        if opened.manifest["kind"] in PAGES and state.get(state.BUNDLE_OPENED) != token:
            state.put(state.BUNDLE_OPENED, token)
            restore(opened)
        show_opened(opened)
    except DenoiseError as error:  # unreadable, altered, or naming what this workbench lacks
        views.error_line(error)


def restore(opened: bundle.Bundle) -> None:
    """Make the bundle's image the current one (a sample by its name, else the bundle's own copy) and open the page it
    came from (``PAGES``) at the bundle's view (the link it was made from)."""
    if not opened.manifest["inputs"]:
        raise BundleError("the bundle holds no input image to reopen")
    item = opened.manifest["inputs"][0]
    pixels, meta = opened.input(item["group"], item["image"])
    context = opened.manifest.get("context")
    view = link(context.get("view") if isinstance(context, dict) else None)
    if not item.get("sample") and opened.manifest["kind"] == "compare":
        has_clean = bool((opened.rows["noise"] != bundle.NO_NOISE).all())
        state.set_image(pixels, meta, sample=None, has_clean=has_clean)
        view = {**view, "img": "upload"}
    st.switch_page(PAGES[opened.manifest["kind"]], query_params=view)


def link(view: object) -> dict[str, str | list[str]]:
    """The query parameters of a bundle's view: text keys with text values (or lists of them); anything else a
    bundle holds there is left out (the link codec reports what it cannot apply)."""
    if not isinstance(view, dict):
        return {}
    return {key: value for key, value in view.items() if isinstance(key, str) and (
        isinstance(value, str) or isinstance(value, list) and all(isinstance(item, str) for item in value))}


def show_opened(opened: bundle.Bundle) -> None:
    """What a bundle holds: its kind, when and with what it was made, its leaderboard."""
    manifest = opened.manifest
    st.caption(f"{one_line(manifest['kind'], 20).capitalize()} bundle made {one_line(manifest.get('created', '?'), 30)} "
               f"with Denoise Workbench {one_line(manifest['workbench'], 20)} · seeds "
               f"{one_line(manifest.get('seeds', ''), 80)} · `{VERIFY}` recomputes every number")
    st.dataframe(bundle.board(opened.rows).round(4), width="stretch")
