"""How fast each method ran on this machine, remembered to estimate the next run before it starts.

A run is recorded as seconds per million samples (pixels × channels) under the method's name (and, for
super-resolution, its factor: ``realesrgan x4``); the estimate for an image is the median of the last
``KEEP`` rates times its samples. The record is one small JSON file in the cache folder, written whole.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from .paths import cache_dir, write_atomically

KEEP = 5


def _file() -> Path:
    return cache_dir() / "speed.json"


def _read() -> dict[str, list[float]]:
    """The record, or an empty one when it is missing or unreadable (it is only a hint)."""
    try:
        data = json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [float(r) for r in v if isinstance(r, (int, float)) and r >= 0][-KEEP:]
            for k, v in data.items() if isinstance(v, list)}


def record(name: str, samples: int, seconds: float) -> None:
    """Remember that ``name`` took ``seconds`` on ``samples`` pixel values (the last ``KEEP`` runs count)."""
    if samples <= 0 or not seconds >= 0:
        return
    data = _read()
    data[name] = [*data.get(name, []), seconds / samples * 1e6][-KEEP:]
    try:
        write_atomically(_file(), lambda tmp: Path(tmp).write_text(json.dumps(data)))
    except OSError:
        pass  # a read-only cache: estimates stay as they were


def estimate(name: str, samples: int) -> float | None:
    """Expected seconds of ``name`` on ``samples`` pixel values, from its recorded runs; None before any."""
    rates = _read().get(name)
    return statistics.median(rates) * samples / 1e6 if rates else None


def describe(seconds: float) -> str:
    """A duration as people say it: 'about 40 s', 'about 3 minutes'."""
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} minutes"
