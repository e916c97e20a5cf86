"""Every weights file by name, whatever its source: the entries, what can be fetched, the CLI's list and the
Model Lab's overview."""
from __future__ import annotations

from pathlib import Path

from ..errors import InvalidParameterError, WeightsError
from . import download
from .catalog import CATALOG, MEASURED, Entry
from .convert import build_network
from .extras import DOWNLOAD_TITLES, DOWNLOADS, download_dir, fetched
from .files import load_state, status
from .imports import imported
from .zoo import MEASURED_HERE, ZOO, fetched_zoo, size_label, zoo_entry, zoo_folder, zoo_summary


def entries() -> dict[str, Entry]:
    """Every known weights entry: shipped, imported, then fetched published ones."""
    return {**CATALOG, **imported(), **fetched_zoo()}


def get_entry(name: str) -> Entry:
    known = entries()
    if name not in known:
        raise WeightsError(f"unknown weights '{name}' (known: {', '.join(known) or 'none'}; "
                           "see python -m denoise_core weights list)")
    return known[name]


def fetchable() -> list[str]:
    """Names ``fetch`` takes: the published models, then the other downloads."""
    return [*ZOO, *DOWNLOADS]


def fetch(name: str, *, mirror: str | Path | None = None, trust: bool = False,
          progress: download.Progress | None = None) -> list[download.Fetched]:
    """Fetch the file(s) of published model or download ``name`` into the cache (``download.fetch``: official
    address or ``mirror``, resumed, hash-checked); a published model's file is then checked to load into its
    network (``strict``). ``progress(done, total)`` is called per file."""
    if name in ZOO:
        got = [download.fetch(ZOO[name].source, zoo_folder(), mirror=mirror, trust=trust, progress=progress)]
        entry = zoo_entry(ZOO[name])
        try:
            build_network(entry.arch, entry.config, load_state(entry), str(entry.file))
        except WeightsError:
            download.forget(zoo_folder(), ZOO[name].source.filename)
            raise
        return got
    if name not in DOWNLOADS:
        raise InvalidParameterError(f"nothing to fetch called '{name}' (valid: {', '.join(fetchable())})")
    return [download.fetch(item, download_dir(name), mirror=mirror, trust=trust, progress=progress)
            for item in DOWNLOADS[name]]


def list_rows() -> list[dict]:
    """``weights list``: one row per entry, published model and download, with its status."""
    rows = [{"name": e.name, "source": e.source, "arch": e.arch, "status": status(e), "path": str(e.file),
             "title": e.title, "hash": e.hash_note} for e in entries().values()]
    fetch_hint = "not fetched (python -m denoise_core weights fetch {})"
    rows += [{"name": name, "source": "zoo", "arch": p.arch, "status": "downloadable", "path": "",
              "title": f"{p.title}: {zoo_summary(p)}", "hash": ""}
             for name, p in ZOO.items() if zoo_entry(p) is None]
    rows += [{"name": name, "source": "download", "arch": "", "path": str(download_dir(name)),
              "status": "fetched" if fetched(name) else fetch_hint.format(name), "title": DOWNLOAD_TITLES[name],
              "hash": ""} for name in DOWNLOADS]
    return rows


def overview_rows() -> list[dict]:
    """Every learned denoiser known here, ours and the published ones (fetched or not), one row each: who
    made it, what for, its file's size, whether it is here, and its mean PSNR measured here (dB, by setting)."""
    rows = []
    for entry in entries().values():
        published = ZOO.get(entry.name)
        rows.append(_overview(entry.name, entry.title, entry.source, entry.arch, entry.noise, entry.modality,
                              entry.file.stat().st_size / 1e6 if entry.file.exists() else None,
                              "here" if status(entry) == "ok" else status(entry),
                              MEASURED_HERE.get(entry.name) if published else MEASURED.get(entry.name)))
    rows += [_overview(name, p.title, "zoo", p.arch, "gaussian", None, None, f"downloadable ({size_label(p)})",
                       MEASURED_HERE.get(name)) for name, p in ZOO.items() if zoo_entry(p) is None]
    return rows


def _overview(name: str, title: str, source: str, arch: str, noise: str, modality: str | None,
              megabytes: float | None, state: str, measured: dict | None) -> dict:
    made_by = {"shipped": "this project", "zoo": "published (KAIR/DPIR)", "imported": "imported"}.get(source, source)
    return {"name": name, "title": title, "made by": made_by, "architecture": arch,
            "made for": noise.replace("_", " ") + (f" · {modality}" if modality else ""),
            "file (MB)": None if megabytes is None else round(megabytes, 1), "status": state, **(measured or {})}
