"""Every folder the library reads or writes, in one place; the per-user ones with their environment override;
and the one way a file is written into them whole (``write_atomically``).

The project's own folders sit beside the package; the shared data sets beside the project. The cache
(fetched and imported weights), the results store and the folders a benchmark may read are per user
and are looked up when asked, so an override set while the process runs takes effect.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

PROJECT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = PROJECT / "weights"
"""The weights this project trained and ships, each with its model card."""
SAMPLE_DIR = PROJECT / "sample_images"
SHARED_DATA = PROJECT.parent / "shared" / "data"
"""The standard training and test sets (Train400, Set12, BSD68, CBSD432, CBSD68), when present."""
TRAIN_DATA = SHARED_DATA / "train400"
"""The default folder of clean training images."""

CACHE_VAR = "DENOISE_WORKBENCH_CACHE"
DB_VAR = "DENOISE_WORKBENCH_DB"
ROOTS_VAR = "DENOISE_WORKBENCH_IMAGE_ROOTS"


def cache_dir() -> Path:
    """The local cache folder: ``$DENOISE_WORKBENCH_CACHE`` or ``~/.cache/denoise-workbench``."""
    env = os.environ.get(CACHE_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "denoise-workbench"


def results_db() -> Path:
    """The per-user results file: ``$DENOISE_WORKBENCH_DB`` or ``$XDG_DATA_HOME/denoise-workbench/results.sqlite``."""
    if os.environ.get(DB_VAR):
        return Path(os.environ[DB_VAR]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "denoise-workbench" / "results.sqlite"


def image_roots() -> list[Path]:
    """The folders a benchmark may read images from: ``$DENOISE_WORKBENCH_IMAGE_ROOTS`` (``os.pathsep``-separated)
    or the home folder and the shared data."""
    listed = [Path(p).expanduser() for p in os.environ.get(ROOTS_VAR, "").split(os.pathsep) if p.strip()]
    return [p.resolve() for p in listed or [Path.home(), SHARED_DATA]]


def write_atomically(path: Path, write: Callable[[str], None]) -> Path:
    """``write(temporary path)`` beside ``path``, then rename it onto ``path``: never a partial file, and a
    link at ``path`` is replaced, not written through. The temporary file is gone afterwards either way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
