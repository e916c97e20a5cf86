"""Published files fetched on request: from their official address or a local mirror folder.

A download resumes a partial file, reports progress, is checked against what is known of its sha256 and
lands in the cache folder (``$DENOISE_WORKBENCH_CACHE``, default ``~/.cache/denoise-workbench``) only whole
and accepted. How sure a known hash is decides what a mismatch does (``Source.trust``):

* ``pinned`` (verified against a copy, or published alike by several projects): a mismatch is refused;
* ``expected`` (one publication): a mismatch is refused unless the user accepts the file deliberately
  (``trust=True``, the CLI's ``--trust``);
* ``unknown`` (no hash published): the hash is recorded at the first download (trust on first use) in the
  folder's ``index.json`` and a later file that differs is refused.

``$DENOISE_WORKBENCH_MIRROR`` (or ``mirror=``) names a folder holding files under their official names: a
USB stick in an offline classroom. No torch here.
"""
from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import WeightsError, one_line
from ..paths import write_atomically
from .files import CHUNK, sha256

MIRROR_ENV = "DENOISE_WORKBENCH_MIRROR"
TRUST_LEVELS = ("pinned", "expected", "unknown")

Progress = Callable[[int, "int | None"], None]
"""``progress(bytes done, total bytes or None)``, called as a download advances."""


class OfflineError(WeightsError):
    """The official address cannot be reached and no mirror folder was given."""


@dataclass(frozen=True)
class Source:
    """One published file: its official address, its size in bytes (0: unknown) and its sha256 with how sure
    that hash is (``TRUST_LEVELS``; ``sha256`` is empty when ``trust`` is ``unknown``)."""

    url: str
    sha256: str = ""
    trust: str = "unknown"
    size: int = 0

    def __post_init__(self):
        if self.trust not in TRUST_LEVELS or (self.trust == "unknown") != (not self.sha256):
            raise ValueError(f"{self.url}: trust {self.trust!r} with sha256 {self.sha256!r}")

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Fetched:
    """A file in the cache: where, its sha256, and how that hash was accepted (``HASH_NOTES``' keys)."""

    path: Path
    sha256: str
    hash: str


HASH_NOTES = {
    "pinned": "sha256 verified (pinned)",
    "expected": "sha256 matches the published value",
    "trusted": "sha256 differs from the published value; accepted deliberately (--trust)",
    "first use": "hash not published (recorded at first download)",
}
"""How a fetched file's hash was accepted -> how the app and the CLI say it."""


# --------------------------------------------------------------------------------------------- index
def _index_path(folder: Path) -> Path:
    return folder / "index.json"


def read_index(folder: Path) -> dict[str, dict]:
    """What ``folder``'s index records per file name: ``{"sha256", "hash", "from", "date"}``; {} when absent."""
    path = _index_path(folder)
    if not path.is_file():
        return {}
    try:
        index = json.loads(path.read_text())
        if not isinstance(index, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                                  for v in index.values()):
            raise ValueError("not an object of file records")
    except (OSError, ValueError) as error:
        raise WeightsError(f"{path}: unreadable download index ({one_line(error, 120)}); delete it and fetch "
                           "again") from None
    return index


def _record(folder: Path, filename: str, fetched: Fetched, origin: str) -> None:
    index = {**read_index(folder), filename: {"sha256": fetched.sha256, "hash": fetched.hash, "from": origin,
                                              "date": time.strftime("%Y-%m-%d")}}
    write_atomically(_index_path(folder), lambda tmp: Path(tmp).write_text(json.dumps(index, indent=1)))


def forget(folder: Path, filename: str) -> None:
    """Delete ``filename`` from ``folder`` and from its index (a file that turned out unusable)."""
    (folder / filename).unlink(missing_ok=True)
    index = read_index(folder)
    if index.pop(filename, None) is not None:
        write_atomically(_index_path(folder), lambda tmp: Path(tmp).write_text(json.dumps(index, indent=1)))


def cached(source: Source, folder: Path, index: dict[str, dict] | None = None) -> Fetched | None:
    """The file of ``source`` in ``folder`` as recorded by its index at download (``index``: ``read_index(folder)``,
    read here when not given), or None when it is not there. Its bytes are checked when it is loaded
    (``Fetched.sha256``)."""
    record = (read_index(folder) if index is None else index).get(source.filename)
    path = folder / source.filename
    if record is None or not path.is_file() or record.get("hash") not in HASH_NOTES:
        return None
    return Fetched(path, record["sha256"], record["hash"])


# ------------------------------------------------------------------------------------------ download
def _mirror(mirror: str | Path | None) -> Path | None:
    folder = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    return Path(folder).expanduser() if folder is not None else None


def _copy(stream, out, done: int, total: int | None, progress: Progress | None) -> None:
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        out.write(chunk)
        done += len(chunk)
        if progress:
            progress(done, total)


def _from_mirror(path: Path, partial: Path, progress: Progress | None) -> str:
    """Copy ``path`` onto ``partial``, resuming after the bytes already there; returns the origin."""
    if not path.is_file():
        raise WeightsError(f"{path}: not in the mirror folder (it must hold the file under its official name)")
    total = path.stat().st_size
    done = partial.stat().st_size if partial.is_file() and partial.stat().st_size <= total else 0
    with open(path, "rb") as stream, open(partial, "ab" if done else "wb") as out:
        stream.seek(done)
        _copy(stream, out, done, total, progress)
    return f"mirror {path.parent.resolve()}"


def _from_url(url: str, partial: Path, progress: Progress | None, timeout: float) -> str:
    """Download ``url`` onto ``partial``, asking for the rest only when a partial file is there; returns the
    origin. A server that ignores the range request sends the whole file again."""
    done = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = done and getattr(response, "status", 200) == 206
            done = done if resumed else 0
            length = int(response.headers.get("Content-Length") or 0)
            with open(partial, "ab" if resumed else "wb") as out:
                _copy(response, out, done, done + length if length else None, progress)
    except urllib.error.HTTPError as error:
        if error.code == 416:  # the partial file is already whole
            return url
        raise WeightsError(f"{url}: the server answered {error.code} {one_line(error.reason, 60)}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise OfflineError(f"cannot reach {urllib.request.urlparse(url).netloc or url} ({one_line(reason, 80)}): "
                           f"offline? Bring {Path(partial.name).stem} on a USB stick and pass --mirror DIR (a folder "
                           f"holding it under its official name) or set ${MIRROR_ENV}") from None
    return url


def _accept(source: Source, digest: str, recorded: dict | None, trust: bool) -> str:
    """How ``digest`` is accepted for ``source`` (a ``HASH_NOTES`` key); raises ``WeightsError`` when refused."""
    name = source.filename
    if source.trust != "unknown":
        if digest == source.sha256:
            return source.trust
        if source.trust == "pinned":
            raise WeightsError(f"{name}: sha256 {digest} is not the pinned {source.sha256}: not the official file; "
                               "refused, nothing was kept")
        if not trust:
            raise WeightsError(f"{name}: sha256 {digest} differs from the published {source.sha256}; refused, "
                               "nothing was kept (to accept this file deliberately, fetch it again with --trust)")
        return "trusted"
    if recorded and recorded["sha256"] != digest and not trust:
        raise WeightsError(f"{name}: sha256 {digest} differs from the {recorded['sha256']} recorded at its first "
                           "download; the file changed: refused, nothing was kept (--trust accepts it deliberately)")
    return "trusted" if recorded and recorded["sha256"] != digest else "first use"


def fetch(source: Source, folder: Path, *, mirror: str | Path | None = None, trust: bool = False,
          progress: Progress | None = None, timeout: float = 60) -> Fetched:
    """``source``'s file in ``folder``: downloaded (or copied from ``mirror``, default ``$DENOISE_WORKBENCH_MIRROR``)
    when it is not already there whole and accepted.

    The bytes go to ``<file>.partial`` (kept between attempts, so the next one resumes), are hashed, accepted or
    refused by ``source.trust`` (see the module), then renamed into place and recorded in ``folder/index.json``.

    Raises
    ------
    OfflineError
        The address cannot be reached and there is no mirror.
    WeightsError
        Refused hash (nothing kept), file absent from the mirror, or a server error.
    """
    folder.mkdir(parents=True, exist_ok=True)
    recorded = read_index(folder).get(source.filename)
    have = cached(source, folder)
    if have and sha256(have.path) == have.sha256 and (have.hash in ("trusted", "first use")
                                                       or have.sha256 == source.sha256):
        return have
    partial = folder / (source.filename + ".partial")
    where = _mirror(mirror)
    origin = (_from_mirror(where / source.filename, partial, progress) if where is not None
              else _from_url(source.url, partial, progress, timeout))
    digest = sha256(partial)
    try:
        accepted = _accept(source, digest, recorded, trust)
    except WeightsError:
        partial.unlink(missing_ok=True)
        raise
    path = folder / source.filename
    os.replace(partial, path)
    fetched = Fetched(path, digest, accepted)
    _record(folder, source.filename, fetched, origin)
    return fetched
