"""Verifying a bundle: every number of its ``results.csv`` recomputed from its input and its row's recipe, and
compared with the recorded one; what this machine lacks to do so is named in one line."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import registry
from ..errors import BundleError, one_line
from ..metrics import available
from .read import Bundle, read_bundle
from .recipe import ATOL, ESTIMATED_SIGMA, NO_NOISE, RTOL, cases, close, restore, scores, workbench_version


@dataclass
class Verification:
    """What :func:`verify_bundle` found: one entry per number (``match`` True or False), the rows it skipped (a
    method that failed when the bundle was made), the tolerance and the seconds it took."""

    numbers: list[dict]
    skipped: int
    seconds: float
    tolerance: dict = field(default_factory=lambda: {"rtol": RTOL, "atol": ATOL})

    @property
    def differing(self) -> list[dict]:
        return [number for number in self.numbers if not number["match"]]

    @property
    def ok(self) -> bool:
        return not self.differing

    def summary(self) -> str:
        """One line: how many numbers match, within what, in how long."""
        return (f"{len(self.numbers) - len(self.differing)} of {len(self.numbers)} numbers match within "
                f"|Δ| <= {ATOL:g} + {RTOL:g}·|recorded|" + (f"; {self.skipped} skipped (failed when recorded)"
                                                            if self.skipped else "") + f"; {self.seconds:.1f} s")

    def as_dict(self) -> dict:
        return {"ok": self.ok, "matched": len(self.numbers) - len(self.differing), "differing": len(self.differing),
                "skipped": self.skipped, "seconds": self.seconds, "tolerance": self.tolerance, "numbers": self.numbers}


def verify_bundle(source: str | os.PathLike | bytes | Bundle) -> Verification:
    """Recompute every number of a bundle's ``results.csv`` and compare it with the recorded one (within ``RTOL``,
    ``ATOL``).

    Raises
    ------
    BundleError
        The bundle cannot be read (see :func:`read_bundle`) or cannot be reproduced here: a method, noise model or
        metric this workbench does not have, or a weights file that is not on this machine (named by its sha256).
    """
    start = time.perf_counter()
    bundle = source if isinstance(source, Bundle) else read_bundle(source)
    methods = check_reproducible(bundle)
    rows = bundle.rows.sort_values(["group", "image"], kind="stable")
    failed = rows["error"].notna() & rows["error"].astype(str).str.strip().ne("")
    numbers, noisy_cache, current = [], {}, (None, None)
    for case, part in cases(rows[~failed]):
        key = (case["group"], case["image"])
        if current[0] != key:  # one input in memory at a time
            current = key, bundle.input(*key)[0]
        numbers += _check_case(current[1], case, part, methods, noisy_cache)
    return Verification(numbers, int(failed.sum()), time.perf_counter() - start)


def check_reproducible(bundle: Bundle) -> dict[str, str | None]:
    """Each method label of the rows -> its registered denoiser, once every method, weights file, noise model and
    metric the rows need is known here; else ``BundleError`` naming the first missing one."""
    manifest, rows = bundle.manifest, bundle.rows
    made = f"the bundle was made with workbench {one_line(manifest['workbench'], 20)}, this is {workbench_version()}"
    methods = {}
    for label in dict.fromkeys(rows["method"]):
        entry = manifest["methods"].get(label)
        if not isinstance(entry, dict) or not isinstance(entry.get("name", 0), (str, type(None))):
            raise BundleError(f"results.csv names method {one_line(label, 40)!r}, which the manifest does not describe")
        _check_weights(label, entry)
        if entry["name"] is not None and entry["name"] not in registry.names("denoiser"):
            raise BundleError(f"method {one_line(entry['name'], 40)!r} does not exist in this workbench ({made})")
        methods[label] = entry["name"]
    for noise in dict.fromkeys(rows["noise"]):
        if noise != NO_NOISE and noise not in registry.names("noise"):
            raise BundleError(f"noise model {one_line(noise, 40)!r} does not exist in this workbench ({made})")
    for metric in dict.fromkeys(rows["metric"]):
        if metric != ESTIMATED_SIGMA and metric not in registry.names("metric"):
            raise BundleError(f"metric {one_line(metric, 40)!r} does not exist in this workbench ({made})")
        if metric != ESTIMATED_SIGMA and not available(metric):
            raise BundleError(f"metric {metric} cannot run here: {registry.get(metric, 'metric').title} needs weights "
                              f"that are not on this machine (python -m denoise_core weights fetch {metric})")
    missing = sorted(set(zip(rows["group"], rows["image"])) - {(i["group"], i["image"]) for i in manifest["inputs"]})
    if missing:
        raise BundleError(f"results.csv names image {one_line(missing[0][1], 60)!r}, which is not among the inputs")
    return methods


def _check_weights(label: str, entry: Mapping[str, Any]) -> None:
    wanted = entry.get("weights_sha256")
    if not wanted:
        return
    from ..weights import entries, fetchable
    here = entries().get(entry["name"])
    if here is not None and here.sha256 == wanted and here.file.is_file():
        return
    fix = (f"fetch it: python -m denoise_core weights fetch {entry['name']}" if entry["name"] in fetchable()
           else "bring that file here (python -m denoise_core weights import)")
    raise BundleError(f"weights file with sha256 {one_line(wanted, 64)} (method {one_line(label, 40)!r}) is not on "
                      f"this machine; {fix}")


def _check_case(clean: np.ndarray, case: Mapping[str, Any], part: pd.DataFrame, methods: Mapping[str, str | None],
                cache: dict) -> list[dict]:
    where = {key: case[key] for key in ("group", "image", "noise", "level", "seed", "method")}
    where["seed"], where["level"] = int(where["seed"]), float(where["level"])
    try:
        restored = restore(clean, case, methods, cache)
        values = scores(clean, restored, case["noise"], list(part["metric"]))
        problem = None
    except ValueError as error:  # DenoiseError, or a recipe in results.csv that is not JSON
        values, problem = {}, one_line(error, 200)
    out = []
    for metric, recorded in zip(part["metric"], part["value"]):
        recomputed = values.get(metric)
        match = recomputed is not None and close(float(recorded), recomputed)
        out.append({**where, "metric": metric, "recorded": float(recorded), "recomputed": recomputed, "match": match,
                    **({"error": problem} if problem else {})})
    return out
