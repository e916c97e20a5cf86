"""Writing a bundle: the zip of any comparison's tidy rows (``write_bundle``), and the bundles of Denoise & Compare
(``compare_bundle``) and of a stored benchmark run (``benchmark_bundle``)."""
from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import registry
from ..benchmark import COLUMNS, run_images
from ..benchmark.report import file_stem
from ..benchmark.store import Store, machine, package_versions
from ..errors import BundleError, DenoiseError
from ..image import ImageMeta, encode_dicom, encode_image, read_image
from ..image.tiff_units import units_wanted
from .read import sha256
from .recipe import ATOL, KINDS, NO_NOISE, RTOL, SCHEMA, cases, restore, workbench_version
from .report import Figure, report_html


@dataclass(frozen=True)
class Input:
    """One image the rows were computed from: ``group`` and ``image`` as in the rows, ``sample`` its name when it is
    a sample image (the app reopens it by name)."""

    group: str
    image: str
    pixels: np.ndarray
    meta: ImageMeta | None = None
    sample: str | None = None


@dataclass(frozen=True)
class Shot:
    """One image of a comparison: its label in the rows, its registered denoiser (None: the noisy input), the
    parameters it ran with, the image, its seconds and its scores (metric -> value)."""

    label: str
    method: str | None
    params: Mapping[str, Any]
    image: np.ndarray
    seconds: float
    scores: Mapping[str, float]


def write_bundle(kind: str, rows: pd.DataFrame, inputs: Sequence[Input], methods: Mapping[str, str | None], *,
                 outputs: Mapping[str, bytes] | None = None, figures: Sequence[Figure] = (),
                 context: Mapping[str, Any] | None = None, weights: Mapping[str, str] | None = None,
                 attachments: Mapping[str, bytes] | None = None) -> bytes:
    """The zip of a comparison (see the module).

    Parameters
    ----------
    kind : one of ``KINDS``
    rows : tidy table with ``benchmark.COLUMNS``; ``noise_params`` and ``params`` JSON, exactly as applied
    inputs : every image named by the rows' ``group`` and ``image``
    methods : each label of the rows' ``method`` column -> its registered denoiser (None: the noisy input)
    outputs : file name -> encoded image, stored under ``outputs/``
    figures : embedded in ``report.html``
    context : JSON-serialisable facts to keep (the app's view, a benchmark's config and run)
    weights : label -> sha256 of the weights the learned methods ran with (default: the files registered now)
    attachments : file name -> bytes kept as they are under ``attachments/`` (a vote round's votes), not verified

    Raises
    ------
    BundleError
        An unknown kind, a row naming an input or a method not given.
    """
    if kind not in KINDS:
        raise BundleError(f"bundle kind {kind!r}: expected one of {', '.join(KINDS)}")
    rows = rows[COLUMNS]
    _check_rows(rows, inputs, methods)
    files = {f"inputs/{number:03d}_{file_stem(Path(item.image).stem)}": item for number, item in enumerate(inputs)}
    encoded = {name + "." + suffix: data for name, item in files.items()
               for suffix, data in [_lossless(item.pixels, item.meta)]}
    outputs = {f"outputs/{file_stem(name)}": data for name, data in (outputs or {}).items()}
    attached = {f"attachments/{file_stem(name)}": data for name, data in (attachments or {}).items()}
    manifest = _manifest(kind, rows, inputs, methods, encoded, outputs, context or {}, weights)
    manifest["attachments"] = {name: sha256(data) for name, data in attached.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, default=str))
        archive.writestr("results.csv", rows.to_csv(index=False))
        for name, data in {**encoded, **outputs, **attached}.items():
            archive.writestr(name, data)
        archive.writestr("report.html", report_html(manifest, rows, figures))
    return buffer.getvalue()


def _check_rows(rows: pd.DataFrame, inputs: Sequence[Input], methods: Mapping[str, str | None]) -> None:
    named = {(item.group, item.image) for item in inputs}
    missing = sorted(set(zip(rows["group"], rows["image"])) - named)
    if missing:
        raise BundleError(f"rows name image {missing[0][1]!r} of group {missing[0][0]!r}, which is not among the inputs")
    unknown = sorted(set(rows["method"]) - set(methods))
    if unknown:
        raise BundleError(f"rows name method {unknown[0]!r}, which is not among the methods")


def _manifest(kind: str, rows: pd.DataFrame, inputs: Sequence[Input], methods: Mapping[str, str | None],
              encoded: Mapping[str, bytes], outputs: Mapping[str, bytes], context: Mapping[str, Any],
              weights: Mapping[str, str] | None) -> dict:
    files = list(encoded)
    recipes = rows[["noise", "noise_params"]].drop_duplicates()
    return {
        "schema": SCHEMA, "kind": kind, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "workbench": workbench_version(), "versions": package_versions(), "machine": {**machine(), "threads": threads()},
        "seeds": sorted(int(seed) for seed in set(rows["seed"])),
        "noise": [{"model": noise, "params": json.loads(params)} for noise, params in recipes.itertuples(index=False)],
        "methods": {label: {"name": name, "params": [json.loads(p) for p in dict.fromkeys(rows[rows["method"] == label]
                                                                                              ["params"])],
                            "weights_sha256": (weights or {}).get(label) or _weights_sha256(name)}
                    for label, name in methods.items()},
        "inputs": [{"group": item.group, "image": item.image, "file": file, "sha256": sha256(encoded[file]),
                    "shape": list(item.pixels.shape), "sample": item.sample} for item, file in zip(inputs, files)],
        "outputs": {name: sha256(data) for name, data in outputs.items()},
        "tolerance": {"rtol": RTOL, "atol": ATOL, "rule": "|recomputed - recorded| <= atol + rtol * |recorded|"},
        "context": dict(context),
    }


def threads() -> dict[str, Any]:
    """The thread settings that can change timings: the environment's, OpenCV's and torch's when loaded."""
    found: dict[str, Any] = {name: os.environ.get(name) for name in
                             ("DENOISE_WORKBENCH_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    if "cv2" in sys.modules:
        found["opencv"] = sys.modules["cv2"].getNumThreads()
    if "torch" in sys.modules:
        found["torch"] = sys.modules["torch"].get_num_threads()
    return found


def _weights_sha256(name: str | None) -> str | None:
    if name is None or registry.get(name, "denoiser").family != "learned":
        return None
    from ..weights import entries
    entry = entries().get(name)
    return entry.sha256 if entry else None


def _lossless(pixels: np.ndarray, meta: ImageMeta | None) -> tuple[str, bytes]:
    """``(suffix, bytes)`` of the first encoding that reads back bit for bit: PNG (8-bit sources), 16-bit TIFF (in the
    source's units for deep ones), else float32 ``.npy``."""
    deep = meta is not None and (meta.bit_depth > 8 or units_wanted(meta))
    for fmt, bits in ([("tiff", 16)] if deep else [("png", 8), ("tiff", 16)]):
        try:
            data = encode_image(pixels, format=fmt, bit_depth=bits, meta=meta)
            back, _ = read_image(data, name=f"input.{fmt}")
        except DenoiseError:
            continue
        if back.shape == pixels.shape and np.array_equal(back, pixels):
            return fmt, data
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(pixels, np.float32), allow_pickle=False)
    return "npy", buffer.getvalue()


def output_file(image: np.ndarray, meta: ImageMeta | None, *, deidentify_key: str | None = None) -> tuple[str, bytes]:
    """``(suffix, bytes)`` of an output image as its source: DICOM with the source's header (de-identified with
    ``deidentify_key`` when given), a 16-bit TIFF in the source's units for deep images, else an 8-bit PNG."""
    if meta is not None and meta.dicom_header:
        return "dcm", encode_dicom(image, meta, deidentify_key=deidentify_key)
    if meta is not None and (meta.bit_depth > 8 or units_wanted(meta)):
        return "tiff", encode_image(image, format="tiff", bit_depth=16, meta=meta)
    return "png", encode_image(image, format="png", bit_depth=8, meta=meta)


def compare_rows(name: str, noise: str, noise_params: Mapping[str, Any], seed: int,
                 results: Iterable[tuple[str, Mapping[str, Any], Mapping[str, float], float]]) -> pd.DataFrame:
    """The tidy rows of one image's comparison: ``results`` are ``(label, params, scores, seconds)``; ``noise``
    ``NO_NOISE`` when the image had no clean reference."""
    level = 0.0
    if noise != NO_NOISE:
        model = registry.get(noise, "noise")
        level = float(noise_params[model.level.param]) * model.level.scale if model.level else 0.0
    rows = [{"group": "compare", "image": name, "seed": seed, "noise": noise, "level": level,
             "noise_params": json.dumps(dict(noise_params), sort_keys=True), "method": label,
             "params": json.dumps(dict(params), sort_keys=True, default=str), "metric": metric, "value": value,
             "seconds": seconds, "error": None}
            for label, params, scores, seconds in results for metric, value in scores.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_bundle(source: Input, shots: Sequence[Shot], *, noise: str, noise_params: Mapping[str, Any], seed: int,
                   view: Mapping[str, Any], deidentify_key: str | None = None, figures: Sequence[Figure] = ()) -> bytes:
    """The bundle of one image's comparison (Denoise & Compare).

    ``source`` is the clean image (``noise`` ``NO_NOISE``: the noisy image itself); ``view`` the app's link (its
    query parameters), which reopens the page as it was. With ``deidentify_key`` the DICOM outputs are
    de-identified (``deidentify``) and the image is named ``deidentified`` (a file name can carry a patient's).
    """
    name = "deidentified" if deidentify_key else source.image
    source = Input("compare", name, source.pixels, source.meta, source.sample)
    rows = compare_rows(name, noise, noise_params, seed, [(s.label, s.params, s.scores, s.seconds) for s in shots])
    outputs = {}
    for shot in shots:
        suffix, data = output_file(shot.image, source.meta, deidentify_key=deidentify_key)
        outputs[f"{Path(name).stem}_{shot.label}.{suffix}"] = data
    return write_bundle("compare", rows, [source], {s.label: s.method for s in shots}, outputs=outputs,
                        figures=figures, context={"view": dict(view)})


def benchmark_bundle(store: Store, run_id: int, *, outputs: bool = False, kind: str = "benchmark",
                     figures: Sequence[Figure] = (), view: Mapping[str, Any] | None = None) -> bytes:
    """The bundle of stored benchmark run ``run_id``: its rows, its clean images (read again as the run read them),
    its config; with ``outputs`` every case's output image too (each case is recomputed: about as long as the run).
    ``kind`` "sweep" for a sweep's run; ``figures`` go into its report; ``view``: the app's link that reopens it.

    Raises
    ------
    StoreError
        No such run. ``InvalidImageError``: an image source of the run is gone.
    """
    info, rows = store.info(run_id), store.results(run_id)
    config = info["config"]
    inputs = [Input(group, name, pixels) for group, name, pixels in run_images(config)]
    methods = {method["label"]: method["name"] for method in config["methods"]}
    weights = {label: entry["sha256"] for label, entry in info["weights"].items()}
    files = _recomputed_outputs(rows, inputs, methods) if outputs else {}
    context = {"run": {key: info[key] for key in ("id", "name", "status", "started", "finished", "engine")},
               "config": config, "run_machine": info["machine"], "run_versions": info["versions"],
               **({"view": dict(view)} if view else {})}
    return write_bundle(kind, rows, inputs, methods, outputs=files, context=context, weights=weights, figures=figures)


def _recomputed_outputs(rows: pd.DataFrame, inputs: Sequence[Input], methods: Mapping[str, str | None]) -> dict:
    """Each case's output image, remade (a case whose method failed in the run has none)."""
    images = {(item.group, item.image): item.pixels for item in inputs}
    files, noisy = {}, {}
    for case, _ in cases(rows[rows["error"].isna()]):
        restored = restore(images[(case["group"], case["image"])], case, methods, noisy)
        suffix, data = output_file(restored, None)
        name = (f"{case['group']}_{Path(case['image']).stem}_{case['noise']}{case['level']:g}_seed{case['seed']}_"
                f"{case['method']}")
        files[f"{name}.{suffix}"] = data
    return files
