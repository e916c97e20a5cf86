"""One task of a run, an image with a method: every noise, level, seed and metric measured into tidy rows.

A metric that fails on a case (LPIPS before its weights are fetched, SSIM on an image under 7×7)
leaves that metric's value empty with the reason in ``error``; the case's other metrics are kept.
A method that fails leaves every metric of the case empty, with its error.
"""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from ..metrics import measure
from .config import noise_params
from .protocol import restore_case


@dataclass(frozen=True)
class Task:
    """One unit of work: every noise, level, seed and metric of one image with one method."""

    index: int
    group: str
    image: str
    method: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.group, self.image, self.method


def run_task(clean: np.ndarray, task: Task, method: Mapping[str, Any], config: Mapping[str, Any], *,
             one_thread: bool = False) -> list[dict]:
    """The rows of one image × method: every noise, level, seed and metric of a loaded ``config``.

    With ``one_thread`` (on a worker process) OpenCV and torch are kept to one thread.
    """
    if one_thread:
        limit_threads()
    return [row for case, values in _cases(task, config) for row in _case_rows(clean, case, values, method, config)]


def _cases(task: Task, config: Mapping[str, Any]) -> Iterator[tuple[dict, dict]]:
    for entry in config["noise"]:
        for level in entry["levels"]:
            values = noise_params(entry, level)
            for base in config["seeds"]:
                yield {"group": task.group, "image": task.image, "seed": base + task.index, "noise": entry["model"],
                       "level": level}, values


def _case_rows(clean: np.ndarray, case: dict, noise_values: dict, method: Mapping[str, Any],
               config: Mapping[str, Any]) -> list[dict]:
    try:
        restored, seconds, used = restore_case(
            clean, method["name"], noise=case["noise"], noise_params=noise_values, seed=case["seed"],
            params=method["params"], blind=config["blind"], repeats=config["repeats"],
            sigma_factor=method.get("sigma_factor", 1.0))
    except Exception as failure:  # noqa: BLE001  (recorded in the rows; the run goes on)
        return _rows(case, noise_values, method, dict.fromkeys(config["metrics"], failure))
    scores = {metric: _score(metric, clean, restored) for metric in config["metrics"]}
    return _rows(case, noise_values, {**method, "params": used}, scores, seconds=seconds)


def _score(metric: str, clean: np.ndarray, restored: np.ndarray) -> float | Exception:
    """The value of one metric, or the reason it failed (the case's other metrics are kept)."""
    try:
        return measure(clean, restored, [metric])[metric]
    except Exception as failure:  # noqa: BLE001  (recorded in this metric's row)
        return failure


def _rows(case: dict, noise_values: dict, method: Mapping[str, Any], scores: Mapping[str, float | BaseException], *,
          seconds: float = math.nan) -> list[dict]:
    row = {**case, "noise_params": _json(noise_values), "method": method["label"], "params": _json(method["params"]),
           "seconds": seconds}
    return [{**row, "metric": metric, **_outcome(value)} for metric, value in scores.items()]


def _outcome(value: float | BaseException) -> dict:
    if isinstance(value, BaseException):
        return {"value": math.nan, "error": _error_text(value)}
    return {"value": value, "error": None}


def failed_rows(task: Task, method: Mapping[str, Any], config: Mapping[str, Any], error: Exception) -> list[dict]:
    return [row for case, values in _cases(task, config)
            for row in _rows(case, values, method, dict.fromkeys(config["metrics"], error))]


def _error_text(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _json(values: Mapping[str, Any]) -> str:
    return json.dumps(dict(values), sort_keys=True, default=str)


def limit_threads() -> None:
    """Keep this process to one thread per library: BLAS and OpenMP (loaded later), OpenCV and torch."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "DENOISE_WORKBENCH_THREADS"):
        os.environ[name] = "1"
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
