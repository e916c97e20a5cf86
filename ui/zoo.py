"""Published models and the LPIPS weights in the app: what can be downloaded, and one button that fetches it.

Files come from their official address or from the folder named by ``$DENOISE_WORKBENCH_MIRROR`` when the
app starts; never from a folder typed in the app (on a shared server that would read any folder). They land
in the cache folder shared by every session on purpose: a fetched model is registered for everyone, and
nothing per user is written there.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from denoise_core import paths, weights
from denoise_core.methods import learned
from denoise_core.errors import DenoiseError
from denoise_core.weights import download
from denoise_core.weights.zoo import MEASURED_HERE, ZOO, Published, size_label

from . import cache, classroom, views

LPIPS_LABEL = "Download LPIPS weights (233 MB)"
_ONE_DOWNLOAD = threading.Lock()
"""Sessions share the cache: a second click waits for the download under way instead of writing the same file."""


def downloadable() -> list[Published]:
    """The published models not registered here yet, in the zoo's order."""
    registered = set(learned.registered())
    return [published for published in ZOO.values() if published.name not in registered]


def same_architecture(entry: weights.Entry) -> list[str]:
    """The published models of ``entry``'s architecture (those with its channels when there are any)."""
    same = [p for p in ZOO.values() if p.arch == entry.arch and p.name != entry.name]
    return [p.name for p in ([p for p in same if p.channels == entry.channels] or same)]


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def bar_progress(bar) -> download.Progress:
    """A ``download.Progress`` that moves ``bar`` (the MB so far when the total is not known)."""
    def update(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{_megabytes(done)} of {_megabytes(total)}")
        else:
            bar.progress(0.0, text=f"{_megabytes(done)} so far")
    return update


def offline_line(title: str, sources: Sequence[download.Source]) -> str:
    """The one line shown when ``sources`` cannot be downloaded: how to serve them from a mirror folder."""
    files = " and ".join(source.filename for source in sources)
    return (f"{title}: offline, the official address cannot be reached. Set ${download.MIRROR_ENV} to a folder "
            f"holding {files} (official names, e.g. a USB stick) and start the app again.")


def fetch_button(label: str, key: str, title: str, sources: Sequence[download.Source],
                 run: Callable[[download.Progress], object], after: Callable[[], None] | None = None) -> None:
    """A button that calls ``run(progress)`` under a progress bar, then ``after()`` and reruns the page.

    A failure is one error line (offline: how to use a mirror folder), never a traceback. In classroom mode only
    the lecturer sees the button.
    """
    if not classroom.lecturer_only("Downloading weights"):
        return
    if not st.button(label, key=key, icon=":material/download:"):
        return
    bar = st.progress(0.0, text="Starting the download…")
    failure = _attempt(run, bar, title, sources)
    if failure is None:
        if after is not None:
            after()
        st.rerun()
    bar.empty()
    views.error_line(failure)


def _attempt(run: Callable[[download.Progress], object], bar, title: str,
             sources: Sequence[download.Source]) -> str | None:
    """``run(progress)``, one download at a time; None when it worked, else the one line that says why not."""
    try:
        with _ONE_DOWNLOAD:
            run(bar_progress(bar))
    except download.OfflineError:
        return offline_line(title, sources)
    except DenoiseError as error:
        return str(error)
    except OSError as error:  # the cache folder itself: not writable, disk full
        return f"{title}: cannot write into {paths.cache_dir()} ({error.strerror or error})"
    return None


def model_button(published: Published, key: str) -> None:
    """The download button of published model ``published``; once fetched it is a registered learned denoiser."""
    fetch_button(f"Download ({size_label(published)})", key, published.name, (published.source,),
                 lambda progress: learned.fetch_published(published.name, progress=progress))


def lpips_button(key: str) -> None:
    """The button that fetches the LPIPS weights; afterwards the metrics are measured again, LPIPS included."""
    fetch_button(LPIPS_LABEL, key, "LPIPS", weights.DOWNLOADS["lpips"],
                 lambda progress: weights.fetch("lpips", progress=progress), after=cache.measure.clear)


def paper(published: Published) -> None:
    """The paper of ``published``, its PSNR table and ours where we measured the official file."""
    st.markdown(f"Paper: {published.paper}")
    measured = MEASURED_HERE.get(published.name, {})
    table = pd.DataFrame({"PSNR (dB), paper": published.psnr, "measured here": measured})
    st.table(table.style.format("{:.2f}", na_rep="—"))
    if not measured:
        st.caption("Quality not measured here: the official file could not be had where this project measures "
                   "its numbers; the table gives the paper's.")


def offer_models(scope: str) -> None:
    """Each published model not fetched yet: title, size, licence, the paper's numbers and a download button
    (keys ``w.<scope>.fetch.<name>``)."""
    offered = downloadable()
    if not offered:
        st.caption("Every published model is fetched: they are in the learned methods.")
    for published in offered:
        st.markdown(f"**{published.title}** · `{published.name}`")
        st.caption(f"downloadable · {weights.zoo_summary(published)}")
        model_button(published, f"w.{scope}.fetch.{published.name}")


def downloadable_card(published: Published, key: str) -> None:
    """The Model Lab card of a published model not fetched yet, with its download button."""
    st.markdown(f"**{published.title}** · `{published.name}`")
    st.caption(f"downloadable · {size_label(published)} · licence {published.licence} · {published.arch} "
               f"{published.config}")
    paper(published)
    model_button(published, key)


def fetched_card(published: Published, entry: weights.Entry) -> None:
    """The Model Lab card of a fetched published model: where it came from, licence, paper, hash check."""
    origin = download.read_index(weights.zoo_folder())[published.source.filename]["from"]
    where = (f"copied from the mirror folder (${download.MIRROR_ENV}); the official file is {published.source.url}"
             if origin.startswith("mirror ") else f"downloaded from {origin}")
    st.markdown(f"**{published.title}**: published model, {where}.")
    st.caption(f"Licence {published.licence} · {entry.hash_note} · {_megabytes(entry.file.stat().st_size)}")
    paper(published)
