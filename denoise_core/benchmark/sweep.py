"""Sweeps: one noise model's level over a range × methods × images × seeds, run by the benchmark engine.

A sweep is a benchmark config with one noise entry (``sweep_config``), so it shares the engine's workers
(in process or Dask), its results store and its resumption; a complete run of the same config in the
store answers again without running (``run_sweep``). Levels are in the units the app shows (the
registry's ``Level.scale``: Gaussian σ in /255). The statistics read the tidy rows (``ROW_COLUMNS``):
the mean with its 95 % confidence interval over images × seeds (``summary``), a paired test of two
methods over the same images, seeds and levels (``paired_test``), and the levels where the ranking of
two methods changes (``crossovers``).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import registry, speed
from ..errors import InvalidParameterError
from .config import load_config
from .results import higher_is_better
from .runs import run
from .tasks import Task

if TYPE_CHECKING:
    from .store import Store

ROW_COLUMNS = ["image", "level", "seed", "method", "metric", "value", "seconds"]
"""The sweep's tidy table: one row per image × level × seed × method × metric."""

CONFIDENCE = 0.95


@dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep stands: finished tasks (image × method), the methods running now and the
    estimated seconds left (None until there is something to estimate from)."""

    done: int
    total: int
    running: tuple[str, ...]
    seconds_left: float | None


def level_scale(noise: str, param: str) -> float:
    """The factor from ``param``'s value to the level as the app shows it: its ``Level.scale`` (σ × 255), else 1."""
    level = registry.get(noise, "noise").level
    return level.scale if level is not None and level.param == param else 1.0


def level_label(noise: str, param: str) -> str:
    """The swept parameter as the app writes its level, e.g. ``sigma (/255)``."""
    scale = level_scale(noise, param)
    return param + (f" (/{scale:g})" if scale != 1 else "")


def parse_range(text: str) -> tuple[float, float, int]:
    """``start:stop:count`` as numbers: ``5:75:8`` -> (5.0, 75.0, 8).

    Raises
    ------
    InvalidParameterError
        Not three parts, not numbers, a count below 1, or a count above 1 with start = stop.
    """
    parts = str(text).split(":")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3 or not (math.isfinite(start) and math.isfinite(stop)):
            raise ValueError
    except (ValueError, IndexError):
        raise InvalidParameterError(f"range {text!r}: expected START:STOP:COUNT, e.g. 5:75:8") from None
    if count < 1 or (count > 1 and start == stop):
        raise InvalidParameterError(f"range {text!r}: expected a COUNT of 1 or more levels between two different ends")
    return start, stop, count


def range_levels(noise: str, param: str, start: float, stop: float, count: int) -> list[float]:
    """``count`` evenly spaced levels from ``start`` to ``stop`` (whole numbers for an integer parameter such as
    JPEG quality, each once)."""
    levels = np.linspace(start, stop, count) if count > 1 else np.array([start])
    if isinstance(registry.get(noise, "noise").param(param), registry.IntParam):
        levels = np.round(levels)
    return [float(level) for level in dict.fromkeys(np.round(levels, 6))]


def method_entry(name: str, sigma_factor: float = 1.0) -> dict:
    """A config method entry: ``name`` on auto, told ``sigma_factor`` × the true σ when that is not 1."""
    if sigma_factor == 1:
        return {"name": name}
    return {"name": name, "label": f"{name} x{sigma_factor:g}", "sigma_factor": sigma_factor}


def sweep_config(*, noise: str, levels: Sequence[float], methods: Sequence[str | Mapping[str, Any]],
                 images: Sequence[Any], param: str | None = None, seeds: int = 1, max_size: int | None = None,
                 limit: int | None = None, metrics: Sequence[str] = ("psnr", "ssim")) -> dict:
    """The checked benchmark config of a sweep.

    Parameters
    ----------
    noise : a registered noise model
    levels : its level values, in the app's units (``level_scale``: Gaussian σ in /255)
    methods : denoiser names, or ``method_entry`` mappings (a method told the wrong σ)
    images : benchmark image sources (``set12``, a folder, ``{"files": [...]}``, ``{"samples": [...]}``)
    param : the swept parameter; default the model's level parameter
    seeds : int, at least 1
        Seeds 0 … seeds − 1 (image ``i`` gets seed ``s + i``, the protocol's order).
    max_size, limit : centre-crop side and images per source (None: whole, all)

    Raises
    ------
    InvalidParameterError, UnknownMethodError
        A bad name or a level outside the parameter's range (the message gives the range in these units).
    """
    model = registry.get(noise, "noise")
    param = param or (model.level.param if model.level else "")
    model.param(param)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise InvalidParameterError(f"seeds = {seeds!r}: expected a whole number of seeds, 1 or more")
    return load_config({"name": f"sweep {noise} {param}", "images": list(images), "limit": limit,
                        "max_size": max_size, "metrics": list(metrics), "seeds": list(range(seeds)),
                        "noise": [{"model": noise, "param": param, "levels": list(levels),
                                   "scale": level_scale(noise, param)}],
                        "methods": list(methods)})


def run_sweep(config: Mapping[str, Any], *, workers: int | None = 0, store: Store | None = None,
              progress: Callable[[SweepProgress], None] | None = None) -> pd.DataFrame:
    """Run a sweep config (``sweep_config``) and return its tidy rows (``ROW_COLUMNS``).

    With a ``store``, a complete run of the same config is read back instead of run again, and an interrupted
    one resumes. ``progress`` gets a ``SweepProgress`` before the first and after each finished image × method.
    ``attrs["run_id"]`` is the store's run (None without a store).
    """
    found = store.complete_run(config) if store else None
    if found is not None:
        table = store.results(found)
        table.attrs["run_id"] = found
    else:
        watch = _Watch(config, workers)
        table = run(config, workers=workers, store=store, waiting=watch.waiting,
                    progress=None if progress is None else lambda done, total: progress(watch.state(done, total)))
    rows = tidy_rows(table)
    rows.attrs["run_id"] = table.attrs.get("run_id")
    return rows


class _Watch:
    """Follows the tasks left to tell which methods run and how long the rest will take: the time spent so far
    scaled by each method's measured speed on this machine (``speed``; equal shares before any is known)."""

    def __init__(self, config: Mapping[str, Any], workers: int | None) -> None:
        names = {method["label"]: method["name"] for method in config["methods"]}
        rates = {label: speed.estimate(name, 10**6) for label, name in names.items()}
        known = all(rate is not None for rate in rates.values())
        self.cost = {label: (rate or 1e-3) if known else 1.0 for label, rate in rates.items()}
        self.slots = 1 if workers == 0 else workers or os.cpu_count() or 1
        self.left: list[Task] = []
        self.start, self.first = time.monotonic(), None

    def waiting(self, tasks: list[Task]) -> None:
        if self.first is None:
            self.first = self._load(tasks)
        self.left = tasks

    def _load(self, tasks: list[Task]) -> float:
        return sum(self.cost[task.method] for task in tasks)

    def state(self, done: int, total: int) -> SweepProgress:
        running = tuple(dict.fromkeys(task.method for task in self.left[:self.slots]))
        left, spent = self._load(self.left), time.monotonic() - self.start
        finished = (self.first or 0.0) - left
        seconds = spent * left / finished if finished > 0 and spent > 0 else None
        return SweepProgress(done, total, running, seconds)


def tidy_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The engine's table reduced to the sweep's columns, in the engine's canonical order."""
    return table[ROW_COLUMNS].reset_index(drop=True)


def records(rows: pd.DataFrame) -> list[dict]:
    """The rows as JSON-ready dicts: plain Python numbers, None where a value is missing."""
    return [{key: (None if isinstance(value, float) and not math.isfinite(value) else value)
             for key, value in row.items()} for row in rows[ROW_COLUMNS].astype(object).to_dict(orient="records")]


def summary(rows: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """Per method and level: the mean of ``metric`` over images × seeds with its 95 % confidence interval
    (Student's t; NaN bounds from a single value), the number of values and the median seconds per case.

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``level``, ``mean``, ``ci_low``, ``ci_high``, ``n``, ``seconds``; methods in the
        order they first appear, levels ascending.
    """
    chosen = rows[rows["metric"] == metric].dropna(subset=["value"])
    out = []
    for (method, level), group in chosen.groupby(["method", "level"], sort=False):
        low, high = mean_ci(group["value"].to_numpy())
        out.append({"method": method, "level": level, "mean": group["value"].mean(), "ci_low": low, "ci_high": high,
                    "n": len(group), "seconds": group["seconds"].median()})
    frame = pd.DataFrame(out, columns=["method", "level", "mean", "ci_low", "ci_high", "n", "seconds"])
    order = {method: i for i, method in enumerate(dict.fromkeys(chosen["method"]))}
    return frame.sort_values(["method", "level"], key=lambda c: c.map(order) if c.name == "method" else c,
                             kind="stable").reset_index(drop=True)


def mean_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The ``confidence`` interval of the mean of ``values`` (Student's t); NaN bounds for fewer than two values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def paired_test(rows: pd.DataFrame, first: str, second: str, metric: str = "psnr",
                level: float | None = None) -> dict:
    """Paired t-test of ``first`` − ``second`` on ``metric`` over the same images, seeds and levels (one level
    when ``level`` is given).

    Returns
    -------
    dict
        ``first``, ``second``, ``metric``, ``level``, ``n`` (pairs), ``difference`` (mean of first − second),
        ``ci_low``/``ci_high`` (its 95 % interval), ``t``, ``p`` (two-sided) and ``significant`` (p < 0.05).
        Differences that are all equal give p = 0 (or 1 when they are all zero).

    Raises
    ------
    InvalidParameterError
        The two methods share fewer than two cases.
    """
    chosen = rows[(rows["metric"] == metric) & rows["method"].isin([first, second])]
    if level is not None:
        chosen = chosen[np.isclose(chosen["level"], level)]
    pairs = chosen.pivot_table(index=["image", "level", "seed"], columns="method", values="value").dropna()
    if first == second or len(pairs) < 2 or {first, second} - set(pairs.columns):
        raise InvalidParameterError(f"paired test of {first!r} and {second!r}: they share fewer than two cases "
                                    f"with a {metric} value; choose two methods of the sweep")
    differences = (pairs[first] - pairs[second]).to_numpy()
    mean, spread = float(differences.mean()), float(differences.std(ddof=1))
    if spread == 0:
        t, p = (math.copysign(math.inf, mean), 0.0) if mean else (0.0, 1.0)
    else:
        t = mean / (spread / math.sqrt(len(differences)))
        p = float(2 * stats.t.sf(abs(t), len(differences) - 1))
    low, high = mean_ci(differences)
    return {"first": first, "second": second, "metric": metric, "level": level, "n": len(differences),
            "difference": mean, "ci_low": low, "ci_high": high, "t": float(t), "p": p, "significant": p < 0.05}


def crossovers(means: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """Where the ranking of two methods changes between consecutive levels, interpolated linearly.

    Parameters
    ----------
    means : ``summary`` of one metric (columns ``method``, ``level``, ``mean``)

    Returns
    -------
    pandas.DataFrame
        One row per crossing, by level: ``level`` (interpolated), ``value`` (the metric there), ``ahead``
        (the method better above that level), ``behind`` (the one it overtakes), ``between`` (the two
        measured levels it lies between).
    """
    curves = means.pivot_table(index="level", columns="method", values="mean").sort_index()
    sign = 1.0 if higher_is_better(metric) else -1.0
    found = []
    for a, b in combinations(list(dict.fromkeys(means["method"])), 2):
        pair = curves[[a, b]].dropna()
        levels, gap = pair.index.to_numpy(), (pair[a] - pair[b]).to_numpy() * sign
        for i in np.flatnonzero(gap[:-1] * gap[1:] < 0):
            share = gap[i] / (gap[i] - gap[i + 1])
            level = levels[i] + share * (levels[i + 1] - levels[i])
            value = pair[a].iloc[i] + share * (pair[a].iloc[i + 1] - pair[a].iloc[i])
            ahead, behind = (a, b) if gap[i + 1] > 0 else (b, a)
            found.append({"level": float(level), "value": float(value), "ahead": ahead, "behind": behind,
                          "between": f"{levels[i]:g}–{levels[i + 1]:g}"})
    frame = pd.DataFrame(found, columns=["level", "value", "ahead", "behind", "between"])
    return frame.sort_values("level", kind="stable").reset_index(drop=True)


def seconds_per_method(rows: pd.DataFrame) -> pd.DataFrame:
    """Median and total seconds of the denoiser call per method, over every case (each case counted once)."""
    cases = rows.drop_duplicates(["image", "level", "seed", "method"])
    frame = cases.groupby("method", sort=False)["seconds"].agg(median="median", total="sum", cases="count")
    return frame.reset_index()
