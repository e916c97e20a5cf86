"""Reproducible bundles: one zip that holds a comparison's numbers, what made them, and what remakes them.

Any comparison (Denoise & Compare, a benchmark run, a sweep, a vote round) hands its tidy rows
(``benchmark.COLUMNS``: image × noise × level × seed × method × metric, with seconds and the parameters
used) to :func:`write_bundle`. The zip holds:

``manifest.json``
    ``schema`` (``SCHEMA``), ``kind``, the workbench and package versions, the machine and its threads, the
    seeds, the noise recipes, each method (registered name, the parameters it ran with, the sha256 of its
    weights when learned), each input (file, sha256, sample name), each output's sha256, the tolerance of
    :func:`verify_bundle` and the ``context`` of the comparison (the app's view, a benchmark's config).
``results.csv``
    The tidy rows.
``inputs/``
    The clean images (the noisy ones when there is no clean reference), lossless: PNG or 16-bit TIFF when
    they read back bit for bit, else float32 ``.npy``.
``outputs/``
    The output images as the source: DICOM (de-identified when a key is given), 16-bit TIFF in the
    source's units, or PNG.
``report.html``
    The tables and the figures (PNG or SVG embedded): it opens offline.
``attachments/``
    What else the comparison keeps as it is (a vote round's votes); listed with its sha256, not verified.

:func:`verify_bundle` recomputes every number of ``results.csv`` from its input and its row's recipe
(``add_noise(input, noise, noise_params, seed)``, then ``denoise(noisy, method, params, auto=False)``, then the
metric). It reads the zip member by member within ``MAX_MEMBER_BYTES`` (never unpacking to disk) and refuses
paths that leave the bundle, a schema it does not know, and a method or weights file this machine lacks, each
with one line (``BundleError``).
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import registry
from .apply import add_noise, denoise
from .benchmark import COLUMNS, leaderboard, paper_table, run_images
from .benchmark.charts import line_chart
from .benchmark.report import file_stem
from .benchmark.results import CASE
from .benchmark.store import Store, machine, package_versions
from .errors import BundleError, DenoiseError, one_line
from .image import ImageMeta, encode_dicom, encode_image, read_image
from .image.tiff_units import units_wanted
from .metrics import available, measure
from .paths import PROJECT

SCHEMA = 1
"""The manifest's schema version: a bundle of another version is refused with one line."""
KINDS = ("compare", "benchmark", "sweep", "vote")
RTOL, ATOL = 1e-4, 1e-6
"""A recomputed number matches when ``|recomputed - recorded| <= ATOL + RTOL * |recorded|`` (0.003 dB at 30 dB)."""
MAX_MEMBER_BYTES = 300 * 2**20
"""The most one member may unpack to (as the image readers' decode limit)."""
MAX_TOTAL_BYTES = 2**32
"""The most all members together may unpack to."""
MAX_MEMBERS = 10_000
NO_NOISE = "none"
"""The ``noise`` of a row whose input is already noisy (no clean reference): the input is used as it is."""
ESTIMATED_SIGMA = "estimated_sigma"
"""The one number of a row without a clean reference: the noise σ a blind estimator still finds in the output."""
NOISY = "noisy"
"""The method label of the noisy input itself (no denoiser: ``name`` None in the manifest)."""


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
class Figure:
    """A figure of ``report.html``: encoded bytes, ``mime`` ``image/png`` or ``image/svg+xml``."""

    title: str
    data: bytes
    mime: str = "image/png"


@dataclass
class Bundle:
    """A bundle read back: its manifest and its tidy rows; :meth:`input` reads one input when asked (so that memory
    holds one image at a time)."""

    manifest: dict
    rows: pd.DataFrame
    source: str | os.PathLike | bytes
    label: str

    def input(self, group: str, image: str) -> tuple[np.ndarray, ImageMeta]:
        """The input image ``image`` of ``group`` and its metadata, its sha256 checked against the manifest's.

        Raises
        ------
        BundleError
            No such input, or its file is missing, altered or unreadable.
        """
        item = next((item for item in self.manifest["inputs"] if (item["group"], item["image"]) == (group, image)),
                    None)
        if item is None:
            raise BundleError(f"{self.label}: image {one_line(image, 60)!r} is not among the inputs")
        with _open(self.source, self.label) as archive:
            return _read_input(archive, item, self.label)


# ---------------------------------------------------------------------------------------------------- writing

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
    manifest["attachments"] = {name: _sha256(data) for name, data in attached.items()}
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
        "inputs": [{"group": item.group, "image": item.image, "file": file, "sha256": _sha256(encoded[file]),
                    "shape": list(item.pixels.shape), "sample": item.sample} for item, file in zip(inputs, files)],
        "outputs": {name: _sha256(data) for name, data in outputs.items()},
        "tolerance": {"rtol": RTOL, "atol": ATOL, "rule": "|recomputed - recorded| <= atol + rtol * |recorded|"},
        "context": dict(context),
    }


def workbench_version() -> str:
    """The workbench's version: the installed package's, else the checkout's ``pyproject.toml``."""
    try:
        return metadata.version("denoise-workbench")
    except metadata.PackageNotFoundError:
        import tomllib
        try:
            return tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


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
    from .weights import entries
    entry = entries().get(name)
    return entry.sha256 if entry else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


# ------------------------------------------------------------------------------------------------ report.html

def report_html(manifest: Mapping[str, Any], rows: pd.DataFrame, figures: Sequence[Figure] = ()) -> str:
    """A self-contained page: what ran where, the leaderboard, each metric by noise level, the figures, every row."""
    figures = [*figures, *level_figures(rows)]
    parts = [f"<h1>{html.escape(manifest['kind'].capitalize())} bundle</h1>", _facts(manifest),
             "<h2>Leaderboard</h2>", leaderboard(rows).round(4).to_html()]
    for metric in dict.fromkeys(rows["metric"]):
        parts += [f"<h2>{html.escape(_metric_title(metric))} by noise level</h2>",
                  paper_table(rows, metric).round(4).to_html()]
    parts += [f"<figure>{_embedded(item)}<figcaption>{html.escape(item.title)}</figcaption></figure>" for item in figures]
    parts += ["<details><summary>Every row (results.csv)</summary>", rows.to_html(index=False), "</details>"]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#111} table{border-collapse:collapse;"
             "font-size:13px} td,th{border:1px solid #ccc;padding:2px 6px} img,svg{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(manifest['kind'])} bundle</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def _facts(manifest: Mapping[str, Any]) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in manifest["versions"].items() if version)
    host = manifest["machine"]
    weights = ", ".join(f"{label}: {entry['weights_sha256']}" for label, entry in manifest["methods"].items()
                        if entry["weights_sha256"]) or "none"
    items = [f"Made {manifest['created']} with Denoise Workbench {manifest['workbench']}; {versions}",
             f"Machine: {host['system']}, {host['cores']} cores; threads {json.dumps(host['threads'])}",
             f"Seeds: {', '.join(map(str, manifest['seeds']))}",
             f"Learned weights (sha256): {weights}",
             "Check: <code>python -m denoise_core bundle verify FILE.zip</code> recomputes every number "
             f"(match: {html.escape(manifest['tolerance']['rule'])}, rtol {RTOL:g}, atol {ATOL:g})"]
    return "<ul>" + "".join(f"<li>{item if item.startswith('Check') else html.escape(item)}</li>" for item in items) + "</ul>"


def _embedded(item: Figure) -> str:
    if item.mime == "image/svg+xml":
        return item.data.decode("utf-8")
    return f"<img alt='{html.escape(item.title)}' src='data:{item.mime};base64,{base64.b64encode(item.data).decode()}'>"


def _metric_title(metric: str) -> str:
    return "Estimated σ left" if metric == ESTIMATED_SIGMA else registry.get(metric, "metric").title


def level_figures(rows: pd.DataFrame) -> list[Figure]:
    """Each metric against the level of each noise swept over more than one level (``charts.line_chart``)."""
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for (metric, noise), part in rows.groupby(["metric", "noise"], sort=False):
            if part["level"].nunique() < 2:
                continue
            means = part.groupby(["method", "level"], sort=False)["value"].mean().unstack("level")
            title = f"{_metric_title(metric)} versus {noise} noise level"
            path = line_chart({method: list(values.items()) for method, values in means.iterrows()}, title,
                              Path(folder) / "chart.png")
            figures.append(Figure(title, path.read_bytes()))
    return figures


# ------------------------------------------------------------------------------------------- the builders

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


def benchmark_bundle(store: Store, run_id: int, *, outputs: bool = False) -> bytes:
    """The bundle of stored benchmark run ``run_id``: its rows, its clean images (read again as the run read them),
    its config; with ``outputs`` every case's output image too (each case is recomputed: about as long as the run).

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
               "config": config, "run_machine": info["machine"], "run_versions": info["versions"]}
    return write_bundle("benchmark", rows, inputs, methods, outputs=files, context=context, weights=weights)


def _recomputed_outputs(rows: pd.DataFrame, inputs: Sequence[Input], methods: Mapping[str, str | None]) -> dict:
    images = {(item.group, item.image): item.pixels for item in inputs}
    files = {}
    for case, _ in _cases(rows):
        restored = _restore(images[(case["group"], case["image"])], case, methods, {})
        suffix, data = output_file(restored, None)
        name = f"{Path(case['image']).stem}_{case['noise']}{case['level']:g}_seed{case['seed']}_{case['method']}"
        files[f"{name}.{suffix}"] = data
    return files


# ------------------------------------------------------------------------------------------------- reading

def read_bundle(source: str | os.PathLike | bytes) -> Bundle:
    """Open a bundle: its manifest (schema checked), its rows and its inputs (sha256 checked).

    Raises
    ------
    BundleError
        Not a zip, a member whose path leaves the bundle (zip-slip), a member or a total over ``MAX_MEMBER_BYTES``
        or ``MAX_TOTAL_BYTES``, another schema version, a missing or altered member.
    """
    label = "the bundle" if isinstance(source, bytes) else one_line(str(source), 120)
    with _open(source, label) as archive:
        _check_members(archive, label)
        manifest = _read_manifest(archive, label)
        rows = _read_rows(archive, label)
    return Bundle(manifest, rows, source, label)


def _open(source: str | os.PathLike | bytes, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise BundleError(f"{label}: not a readable zip archive ({one_line(error, 80)})") from None


def _check_members(archive: zipfile.ZipFile, label: str) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise BundleError(f"{label}: {len(members):,} members, over the limit of {MAX_MEMBERS:,}; refused")
    for info in members:
        path = PurePosixPath(info.filename)
        if (not info.filename or "\\" in info.filename or path.is_absolute() or ".." in path.parts
                or ":" in path.parts[0]):
            raise BundleError(f"{label}: member {one_line(info.filename, 80)!r} points outside the bundle (zip-slip); "
                              "refused")
        if info.file_size > MAX_MEMBER_BYTES:
            raise BundleError(f"{label}: member {one_line(info.filename, 80)!r} unpacks to {info.file_size:,} bytes, "
                              f"over the limit of {MAX_MEMBER_BYTES:,}; refused")
    total = sum(info.file_size for info in members)
    if total > MAX_TOTAL_BYTES:
        raise BundleError(f"{label}: unpacks to {total:,} bytes in all, over the limit of {MAX_TOTAL_BYTES:,}; refused")


def _member(archive: zipfile.ZipFile, name: str, label: str) -> bytes:
    """A member's bytes, read within ``MAX_MEMBER_BYTES`` whatever its header claims."""
    try:
        with archive.open(name) as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except KeyError:
        raise BundleError(f"{label}: no {name} in the archive; not a bundle of this workbench") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise BundleError(f"{label}: {name} is corrupt ({one_line(error, 80)})") from None
    if len(data) > MAX_MEMBER_BYTES:
        raise BundleError(f"{label}: {name} unpacks to over {MAX_MEMBER_BYTES:,} bytes; refused")
    return data


def _read_manifest(archive: zipfile.ZipFile, label: str) -> dict:
    try:
        manifest = json.loads(_member(archive, "manifest.json", label))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(f"{label}: manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict) or "schema" not in manifest:
        raise BundleError(f"{label}: manifest.json has no schema version; not a bundle of this workbench")
    if manifest["schema"] != SCHEMA:
        raise BundleError(f"{label}: manifest schema version {one_line(manifest['schema'], 20)} (made by workbench "
                          f"{one_line(manifest.get('workbench', '?'), 20)}); this workbench ({workbench_version()}) "
                          f"reads version {SCHEMA}")
    missing = [key for key in ("kind", "methods", "inputs", "workbench") if key not in manifest]
    if missing:
        raise BundleError(f"{label}: manifest.json lacks {', '.join(missing)}")
    if not isinstance(manifest["inputs"], list) or not all(
            isinstance(item, dict) and {"group", "image", "file", "sha256"} <= set(item) for item in manifest["inputs"]):
        raise BundleError(f"{label}: manifest.json's inputs are not a list of group, image, file and sha256")
    return manifest


def _read_rows(archive: zipfile.ZipFile, label: str) -> pd.DataFrame:
    try:
        rows = pd.read_csv(io.BytesIO(_member(archive, "results.csv", label)),
                           dtype={"group": str, "image": str, "noise": str, "method": str, "metric": str,
                                  "noise_params": str, "params": str, "error": str})
    except (ValueError, pd.errors.ParserError) as error:
        raise BundleError(f"{label}: results.csv is not a table ({one_line(error, 80)})") from None
    if list(rows.columns) != COLUMNS:
        raise BundleError(f"{label}: results.csv has columns {', '.join(map(str, rows.columns))}; expected "
                          f"{', '.join(COLUMNS)}")
    for column in ("seed", "level", "value", "seconds"):
        numbers = pd.to_numeric(rows[column], errors="coerce")
        bad = rows[column][numbers.isna() & rows[column].notna()]
        if len(bad):
            raise BundleError(f"{label}: results.csv's {column} holds {one_line(bad.iloc[0], 40)!r}, not a number")
        rows[column] = numbers
    return rows


def _read_input(archive: zipfile.ZipFile, item: Mapping[str, Any], label: str) -> tuple[np.ndarray, ImageMeta]:
    data = _member(archive, str(item["file"]), label)
    if _sha256(data) != item["sha256"]:
        raise BundleError(f"{label}: input {item['file']} has sha256 {_sha256(data)[:12]}…, not the manifest's "
                          f"{str(item['sha256'])[:12]}…; the input was altered")
    if str(item["file"]).endswith(".npy"):
        try:
            pixels = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as error:
            raise BundleError(f"{label}: input {item['file']} is not a NumPy array ({one_line(error, 80)})") from None
        pixels = np.asarray(pixels, np.float32)
        return pixels, ImageMeta(name=str(item["image"]), format="npy", bit_depth=32, value_range=(0.0, 1.0),
                                 color=pixels.ndim == 3, modality=None)
    try:
        return read_image(data, name=str(item["file"]))
    except DenoiseError as error:
        raise BundleError(f"{label}: input {item['file']}: {error}") from None


# ----------------------------------------------------------------------------------------------- verifying

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
    for case, part in _cases(rows[~failed]):
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
        if not isinstance(entry, dict) or "name" not in entry:
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
    from .weights import entries, fetchable
    here = entries().get(entry["name"])
    if here is not None and here.sha256 == wanted and here.file.is_file():
        return
    fix = (f"fetch it: python -m denoise_core weights fetch {entry['name']}" if entry["name"] in fetchable()
           else "bring that file here (python -m denoise_core weights import)")
    raise BundleError(f"weights file with sha256 {one_line(wanted, 64)} (method {one_line(label, 40)!r}) is not on "
                      f"this machine; {fix}")


def _cases(rows: pd.DataFrame) -> Iterable[tuple[dict, pd.DataFrame]]:
    """Each measured case (its rows differ only in the metric), inputs in order so that a noisy image is reused."""
    keys = ["group", "image", "noise", "noise_params", "seed", "level", "method", "params"]
    for values, part in rows.groupby(keys, sort=False, dropna=False):
        yield dict(zip(keys, values)), part


def _noisy(clean: np.ndarray, case: Mapping[str, Any], cache: dict) -> np.ndarray:
    key = (case["group"], case["image"], case["noise"], case["noise_params"], int(case["seed"]))
    if key not in cache:
        cache.clear()  # one noisy image kept at a time: memory stays bounded
        cache[key] = (clean if case["noise"] == NO_NOISE
                      else add_noise(clean, case["noise"], json.loads(case["noise_params"]), seed=int(case["seed"])))
    return cache[key]


def _restore(clean: np.ndarray, case: Mapping[str, Any], methods: Mapping[str, str | None], cache: dict) -> np.ndarray:
    noisy = _noisy(clean, case, cache)
    name = methods[case["method"]]
    return noisy if name is None else denoise(noisy, name, json.loads(case["params"]), auto=False)


def _check_case(clean: np.ndarray, case: Mapping[str, Any], part: pd.DataFrame, methods: Mapping[str, str | None],
                cache: dict) -> list[dict]:
    where = {key: case[key] for key in ("group", "image", "noise", "level", "seed", "method")}
    where["seed"], where["level"] = int(where["seed"]), float(where["level"])
    try:
        restored = _restore(clean, case, methods, cache)
        values = _scores(clean, restored, case["noise"], list(part["metric"]))
        problem = None
    except ValueError as error:  # DenoiseError, or a recipe in results.csv that is not JSON
        values, problem = {}, one_line(error, 200)
    out = []
    for metric, recorded in zip(part["metric"], part["value"]):
        recomputed = values.get(metric)
        match = recomputed is not None and _close(float(recorded), recomputed)
        out.append({**where, "metric": metric, "recorded": float(recorded), "recomputed": recomputed, "match": match,
                    **({"error": problem} if problem else {})})
    return out


def _scores(clean: np.ndarray, restored: np.ndarray, noise: str, metrics: list[str]) -> dict[str, float]:
    if noise == NO_NOISE:
        from .estimate import noise_level
        return {ESTIMATED_SIGMA: float(noise_level(restored)["sigma"])} if ESTIMATED_SIGMA in metrics else {}
    return {name: float(value) for name, value in measure(clean, restored, metrics).items()}


def _close(recorded: float, recomputed: float) -> bool:
    if math.isnan(recorded) or math.isnan(recomputed):
        return math.isnan(recorded) and math.isnan(recomputed)
    if math.isinf(recorded) or math.isinf(recomputed):
        return recorded == recomputed
    return abs(recomputed - recorded) <= ATOL + RTOL * abs(recorded)
