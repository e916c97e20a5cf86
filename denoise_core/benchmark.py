"""Benchmarks by the protocol of ``BENCHMARK.md``: one tidy table of numbers a team can trust.

``evaluate`` (the ``eval`` command) measures one method on one folder. ``run`` takes a config that
names image sources, noise models with levels, methods with parameters, metrics and seeds, and
returns one tidy table: a row per image × noise × level × seed × method × metric, with the seconds
and the exact parameters used. Both measure each case with ``measure_case``, so ``bench`` and
``eval`` give the same numbers for the same images, noise and seeds.

Protocol: Gaussian noise of ``sigma`` (0–255 scale) is drawn with
``numpy.random.default_rng(seed)``, seed 0 for the first image in sorted file order, 1 for the
next, ...; the noisy image is not clipped; metrics are computed on the output clipped to [0, 1].

``run`` executes its tasks (one per image × method) in this process (``workers=0``), on a Dask
``LocalCluster`` of one single-threaded process per core (the default), or on a running Dask
scheduler. With a ``store.Store`` it saves each task's rows as they arrive and resumes an
interrupted run of the same config where it stopped; while it runs, a second process asking for
the same run is refused with one line (``Store.begin``).

A metric that fails on a case (LPIPS before its weights are fetched, SSIM on an image under 7×7)
leaves that metric's value empty with the reason in ``error``; the case's other metrics are kept.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import yaml

from . import registry
from .apply import add_noise, denoise, resolve
from .errors import InvalidImageError, InvalidParameterError
from .datasets import image_files
from .paths import ROOTS_VAR, SHARED_DATA
from .timing import timed
from .image import read_image
from .image.read import IMAGE_SUFFIXES
from .metrics import measure

if TYPE_CHECKING:
    from .store import Store

NAMED_SETS = ("set12", "bsd68")
SOURCE_KINDS = ("set", "folder", "files", "zip", "samples")
SEED_MAX = 2**32 - 1
ZIP_MEMBER_BYTES = 2**30
"""An image in a zip source may unpack to at most this many bytes (a zip bomb is refused before it is read)."""
RETRIES = 2
"""How many times Dask reruns a task whose worker was lost or which raised outside the method."""

PROTOCOL: dict[str, Any] = {
    "name": "benchmark",
    "images": ["set12"],
    "limit": None,
    "max_size": None,
    "noise": [{"model": "gaussian", "param": "sigma", "levels": [15, 25, 50], "scale": 255}],
    "methods": [],
    "metrics": ["psnr", "ssim"],
    "seeds": [0],
    "blind": False,
    "repeats": 1,
}
"""Every config key with its default: the evaluation protocol of ``BENCHMARK.md``."""

COLUMNS = ["group", "image", "seed", "noise", "level", "noise_params", "method", "params", "metric", "value",
           "seconds", "error"]
"""The tidy table: ``noise_params`` and ``params`` are JSON; ``error`` is empty unless the case failed."""

ORDER = ["group", "image", "noise", "level", "seed", "method", "metric"]
CASE = ORDER[:-1]
"""The columns of one measured case (its rows differ only in the metric)."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called with the number of finished image × method tasks."""


def checked_folder(text: str, roots: list[Path]) -> Path:
    """The real path of a folder of images typed by an app user, once it and every image in it are
    known to lie inside one of ``roots`` (``..`` and links resolved).

    Raises
    ------
    InvalidImageError
        No folder typed, no such folder, or the folder or one of its images lies outside ``roots``.
    """
    if not text.strip():
        raise InvalidImageError("Folder: type the path of a folder of images")
    folder = Path(text.strip()).expanduser().resolve()
    allowed = ", ".join(map(str, roots))
    if not _inside(folder, roots):
        raise InvalidImageError(f"{text.strip()}: outside the folders the app may read ({allowed}; set "
                                f"{ROOTS_VAR} to change them)")
    for path in image_files(folder):
        if not _inside(path.resolve(), roots):
            raise InvalidImageError(f"{path.name} in {folder}: links to a file outside the folders the app may "
                                    f"read ({allowed}); copy the image into the folder")
    return folder


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def protocol_noise_params(noise: str, noise_params: Mapping[str, Any]) -> dict:
    """The noise parameters the protocol uses: Gaussian noise is unclipped unless ``clip`` is given."""
    return {"clip": False, **noise_params} if noise == "gaussian" else dict(noise_params)


def noisy_protocol(clean: np.ndarray, noise: str, noise_params: Mapping[str, Any], seed: int) -> np.ndarray:
    """The noisy input of the protocol; Gaussian noise is left unclipped, as in the literature."""
    return add_noise(clean, noise, protocol_noise_params(noise, noise_params), seed=seed)


def restore_case(clean: np.ndarray, method: str, *, noise: str, noise_params: Mapping[str, Any], seed: int,
                 params: Mapping[str, Any] | None = None, blind: bool = False,
                 repeats: int = 1) -> tuple[np.ndarray, float, dict]:
    """Add the protocol's noise to ``clean`` and denoise it with ``method`` (see ``measure_case``).

    Returns
    -------
    restored : the denoised image
    seconds : float
        Time of the denoiser call alone.
    used : dict
        The exact parameters the denoiser ran with.
    """
    entry = registry.get(method, "denoiser")
    noisy = noisy_protocol(clean, noise, noise_params, seed)
    level = None if blind or noise != "gaussian" else {"sigma": noise_params["sigma"], "impulse": 0.0}
    used = resolve(entry, noisy, params, level=level)
    restored, seconds = timed(lambda: denoise(noisy, method, used, auto=False), repeats)
    return restored, seconds, used


def measure_case(clean: np.ndarray, method: str, *, noise: str, noise_params: Mapping[str, Any], seed: int,
                 params: Mapping[str, Any] | None = None, blind: bool = False,
                 metrics: tuple[str, ...] | list[str] = ("psnr", "ssim"),
                 repeats: int = 1) -> tuple[dict[str, float], float, dict]:
    """Add the protocol's noise to ``clean``, denoise it with ``method`` and score the result.

    Parameters
    ----------
    clean : float32 array in [0, 1]
        The reference image.
    method : str
        A registered denoiser. Parameters not in ``params`` come from its ``auto`` rule.
    noise, noise_params, seed
        The noise model, its parameters and the seed of its generator.
    blind : bool
        False (the published tables' setting): ``auto`` gets the true Gaussian sigma. True: it gets
        the level estimated from the noisy image. Non-Gaussian noise is always blind.
    metrics : names of registered metrics
    repeats : int, at least 1
        1: one timed call. More: one warm-up call, then the median time of ``repeats`` calls.

    Returns
    -------
    scores : dict
        Metric name to value.
    seconds : float
        Time of the denoiser call alone.
    used : dict
        The exact parameters the denoiser ran with.
    """
    restored, seconds, used = restore_case(clean, method, noise=noise, noise_params=noise_params, seed=seed,
                                           params=params, blind=blind, repeats=repeats)
    return measure(clean, restored, list(metrics)), seconds, used


def evaluate(method: str, files: list[Path], *, noise: str = "gaussian", noise_params: Mapping[str, Any],
             params: Mapping[str, Any] | None = None, blind: bool = False) -> Iterator[dict]:
    """Yield one row per image: image, seed, psnr, ssim, seconds and the parameters used.

    Non-blind (the published tables' setting): a method's ``auto`` rule gets the true Gaussian sigma.
    Blind: it gets the level estimated from each noisy image.
    """
    registry.get(method, "denoiser")
    for seed, path in enumerate(files):
        clean, _ = read_image(path)
        scores, seconds, used = measure_case(clean, method, noise=noise, noise_params=noise_params, seed=seed,
                                             params=params, blind=blind)
        yield {"image": path.name, "seed": seed, "method": method, "noise": noise, **noise_params,
               **scores, "seconds": seconds, "params": used}


def summarise(rows: list[dict]) -> dict:
    """Mean PSNR and SSIM, and the median seconds per image, of ``evaluate`` rows."""
    return {"images": len(rows),
            "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "seconds_median": float(np.median([r["seconds"] for r in rows]))}


# --- Configs ------------------------------------------------------------------------------------

def load_config(config: str | Path | Mapping[str, Any]) -> dict:
    """The full, checked form of a benchmark config: every default filled in, every name checked.

    Parameters
    ----------
    config : path of a YAML file, or a mapping
        Keys (all optional but ``methods``; defaults in ``PROTOCOL``):
        ``name``; ``images``: sources, each ``set12``, ``bsd68``, ``samples``, a path (folder, image,
        DICOM file or ``.zip``) or a mapping with one of ``set``, ``folder``, ``files``, ``zip``,
        ``samples`` (a list of names or ``all``) and an optional ``group`` label; ``limit``: at most
        this many images per source; ``max_size``: larger images are centre-cropped to this side;
        ``noise``: models, each ``{model, param, levels, scale, params}`` where the swept ``param``
        takes the values ``level / scale`` (Gaussian: ``sigma``, levels on the 0–255 scale);
        ``methods``: denoiser names, ``{name, params, label}`` with ``params`` a mapping or ``auto``
        (parameters not given follow the method's ``auto`` rule), or ``{family: learned}``: every
        denoiser of that family registered now (none: the entry adds nothing); ``metrics``; ``seeds``:
        image ``i`` gets seed ``s + i`` for each ``s``; ``blind``; ``repeats``: timed calls per case.
        Relative paths are relative to the YAML file's folder, or to the working directory.

    Returns
    -------
    dict
        JSON-serialisable and explicit: equal configs have equal ``config_hash``.

    Raises
    ------
    InvalidParameterError
        An unknown key or a bad value; ``UnknownMethodError`` for an unknown name.
    """
    if isinstance(config, Mapping):
        raw, base, name = dict(config), Path.cwd(), PROTOCOL["name"]
    else:
        path = Path(config)
        raw, base, name = _read_yaml(path), path.parent, path.stem
    unknown = sorted(set(raw) - set(PROTOCOL))
    if unknown:
        raise InvalidParameterError(f"config: unknown key(s) {', '.join(unknown)} (valid: {', '.join(PROTOCOL)})")
    merged = {**PROTOCOL, "name": name, **raw}
    methods = [method for entry in _as_list(merged["methods"], "methods") for method in _method_entries(entry)]
    if not methods:
        raise InvalidParameterError("config: 'methods' is empty or its families have no registered denoiser; name "
                                    "at least one (python -m denoise_core list --kind denoiser)")
    _check_unique([m["label"] for m in methods], "method label")
    return {"name": str(merged["name"]),
            "images": [_image_source(source, base) for source in _as_list(merged["images"], "images")],
            "limit": _optional_int(merged["limit"], "limit", 1),
            "max_size": _optional_int(merged["max_size"], "max_size", 8),
            "noise": [_noise_entry(entry) for entry in _as_list(merged["noise"], "noise")],
            "methods": methods,
            "metrics": [registry.get(str(m), "metric").name for m in _as_list(merged["metrics"], "metrics")],
            "seeds": [_int(seed, "seeds", 0, SEED_MAX) for seed in _as_list(merged["seeds"], "seeds")],
            "blind": _bool(merged["blind"], "blind"),
            "repeats": _int(merged["repeats"], "repeats", 1)}


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of a loaded config's canonical JSON: the identity a resumed run must match."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _read_yaml(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InvalidParameterError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise InvalidParameterError(f"{path}: not a text file; expected a YAML benchmark config") from None
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"{path}: expected a mapping of config keys, got {type(raw).__name__}")
    return raw


def _as_list(value: Any, key: str) -> list:
    if isinstance(value, (str, Mapping)):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise InvalidParameterError(f"config: '{key}' = {value!r}: expected a list")
    return list(value)


def _int(value: Any, key: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None
                                                                                           and value > hi):
        expected = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise InvalidParameterError(f"config: '{key}' = {value!r}: expected an integer {expected}")
    return int(value)


def _optional_int(value: Any, key: str, lo: int) -> int | None:
    return None if value is None else _int(value, key, lo)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(f"config: '{key}' = {value!r}: expected true or false")
    return value


def _mapping(entry: Any, key: str, valid: tuple[str, ...]) -> Mapping:
    if not isinstance(entry, Mapping) or set(entry) - set(valid):
        raise InvalidParameterError(f"config: '{key}' entry {entry!r}: expected a name or a mapping "
                                    f"with keys among {', '.join(valid)}")
    return entry


def _check_unique(items: list, what: str) -> None:
    seen = set()
    for item in items:
        if item in seen:
            raise InvalidParameterError(f"config: two entries share the {what} {item!r}; give each its own")
        seen.add(item)


def _image_source(source: Any, base: Path) -> dict:
    if isinstance(source, str):
        source = _source_from_text(source, base)
    source = _mapping(source, "images", (*SOURCE_KINDS, "group"))
    kinds = [kind for kind in SOURCE_KINDS if kind in source]
    if len(kinds) != 1:
        raise InvalidParameterError(f"config: 'images' entry {dict(source)!r}: expected exactly one of "
                                    f"{', '.join(SOURCE_KINDS)}")
    kind = kinds[0]
    value = _source_value(kind, source[kind], base)
    return {kind: value, "group": str(source.get("group") or _default_group(kind, value))}


def _source_from_text(text: str, base: Path) -> dict:
    if text in NAMED_SETS:
        return {"set": text}
    if text == "samples":
        return {"samples": "all"}
    path = base / Path(text).expanduser()
    if path.suffix.lower() == ".zip":
        return {"zip": text}
    return {"folder": text} if path.is_dir() else {"files": [text]}


def _source_value(kind: str, value: Any, base: Path) -> Any:
    if kind == "set":
        if value not in NAMED_SETS:
            raise InvalidParameterError(f"config: set {value!r}: expected one of {', '.join(NAMED_SETS)}")
        return value
    if kind == "samples":
        return "all" if value == "all" else [str(name) for name in _as_list(value, "samples")]
    if kind == "files":
        return [str((base / Path(str(p)).expanduser()).resolve()) for p in _as_list(value, "files")]
    return str((base / Path(str(value)).expanduser()).resolve())


def _default_group(kind: str, value: Any) -> str:
    if kind in ("set", "samples", "files"):
        return value if kind == "set" else kind
    return Path(value).stem


def _noise_entry(entry: Any) -> dict:
    if isinstance(entry, str):
        entry = PROTOCOL["noise"][0] if entry == "gaussian" else {"model": entry}
    entry = _mapping(entry, "noise", ("model", "param", "levels", "scale", "params"))
    model = registry.get(str(entry.get("model")), "noise")
    if not model.params:
        raise InvalidParameterError(f"config: noise '{model.name}' has no parameter to sweep")
    param = model.param(str(entry.get("param") or model.level.param))
    scale = entry.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        raise InvalidParameterError(f"config: noise '{model.name}' scale = {scale!r}: expected a number > 0")
    fixed = dict(entry.get("params") or {})
    levels = [_level(value) for value in _as_list(entry.get("levels", [param.default * scale]), "levels")]
    if not levels:
        raise InvalidParameterError(f"config: noise '{model.name}' has no levels; give at least one")
    normal = {"model": model.name, "param": param.name, "levels": levels, "scale": scale, "params": fixed}
    for level in levels:
        try:
            noise_params(normal, level)
        except InvalidParameterError as error:
            raise InvalidParameterError(f"config: noise '{model.name}' level {level:g}: "
                                        f"{_level_range(param, scale) if param.name in str(error) else error}") from None
    return normal


def _level_range(param: registry.Param, scale: float) -> str:
    """Where the levels of a swept parameter may lie, in the config's units."""
    low, high = getattr(param, "lo", None), getattr(param, "hi", None)
    if None in (low, high):
        return f"parameter '{param.name}' refuses level / {scale:g}"
    return f"expected a level from {low * scale:g} to {high * scale:g} ('{param.name}' = level / {scale:g})"


def _level(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(f"config: noise level {value!r}: expected a number")
    return float(value)


def noise_params(entry: Mapping[str, Any], level: float) -> dict:
    """The exact, complete parameters of a config noise entry at ``level`` (as the protocol applies them)."""
    model = registry.get(entry["model"], "noise")
    given = {**entry["params"], entry["param"]: level / entry["scale"]}
    return model.resolve(protocol_noise_params(model.name, given))


def _method_entries(entry: Any) -> list[dict]:
    if isinstance(entry, Mapping) and "family" in entry:
        family = _mapping(entry, "methods", ("family",))["family"]
        return [{"name": m.name, "label": m.name, "params": {}} for m in registry.methods("denoiser")
                if m.family == family]
    if isinstance(entry, str):
        entry = {"name": entry}
    entry = _mapping(entry, "methods", ("name", "params", "label"))
    method = registry.get(str(entry.get("name")), "denoiser")
    params = entry.get("params", "auto")
    if params in ("auto", None):
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"config: method '{method.name}' params = {params!r}: expected a mapping or auto")
    checked = {name: method.param(str(name)).check(value) for name, value in params.items()}
    return [{"name": method.name, "label": str(entry.get("label") or method.name), "params": checked}]


# --- Images ---------------------------------------------------------------------------------------

def load_images(config: Mapping[str, Any]) -> list[tuple[str, str, np.ndarray]]:
    """``(group, name, clean image)`` of every source of a loaded config, in the protocol's seed order.

    Sources come in config order; a folder's images in sorted file order, at most ``limit`` each;
    images larger than ``max_size`` are centre-cropped.

    Raises
    ------
    InvalidImageError
        A source that is absent, empty or holds an unreadable image.
    """
    images = []
    for source in config["images"]:
        for name, image in _read_source(source, config["limit"]):
            images.append((source["group"], name, _crop(image, config["max_size"])))
    _check_unique([(group, name) for group, name, _ in images], "group and image name")
    return images


def _read_source(source: Mapping[str, Any], limit: int | None) -> list[tuple[str, np.ndarray]]:
    if "set" in source:
        folder = SHARED_DATA / source["set"]
        if not folder.is_dir():
            raise InvalidImageError(f"{source['set']}: the test set is absent (expected at {folder})")
        return _read_files(image_files(folder, limit))
    if "folder" in source:
        return _read_files(image_files(source["folder"], limit))
    if "files" in source:
        return _read_files([Path(p) for p in source["files"]][:limit])
    if "zip" in source:
        return _zip_images(Path(source["zip"]), limit)
    return _sample_images(source["samples"], limit)


def _read_files(files: list[Path]) -> list[tuple[str, np.ndarray]]:
    return [(path.name, read_image(path)[0]) for path in files]


def _zip_images(path: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
            members = sorted(m for m in archive.namelist() if Path(m).suffix.lower() in IMAGE_SUFFIXES)
            if not members:
                raise InvalidImageError(f"{path}: no images in the archive")
            return [(member, _zip_member(archive, member, Path(folder))) for member in members[:limit]]
    except zipfile.BadZipFile:
        raise InvalidImageError(f"{path}: not a zip archive") from None


def _zip_member(archive: zipfile.ZipFile, member: str, folder: Path) -> np.ndarray:
    """Read one image of an archive through a file of our own naming, copied in chunks (never whole in memory)."""
    size = archive.getinfo(member).file_size
    if size > ZIP_MEMBER_BYTES:
        raise InvalidImageError(f"{member} in the archive: {size:,} bytes unpacked, over the limit of "
                                f"{ZIP_MEMBER_BYTES:,}; unpack it and name the folder instead")
    target = folder / f"member{Path(member).suffix.lower()}"
    with archive.open(member) as source, target.open("wb") as copy:
        shutil.copyfileobj(source, copy)
    try:
        return read_image(target)[0]
    except InvalidImageError as error:
        raise InvalidImageError(f"{member} in the archive: {str(error).replace(str(target), '').strip(': ')}") from None


def _sample_images(names: str | list[str], limit: int | None) -> list[tuple[str, np.ndarray]]:
    from .samples import load_sample, samples
    catalogue = {sample.name: sample for sample in samples()}
    chosen = list(catalogue) if names == "all" else names
    missing = [name for name in chosen if name not in catalogue]
    if missing:
        raise InvalidImageError(f"unknown sample image(s) {', '.join(missing)} (valid: {', '.join(catalogue)})")
    return [(name, load_sample(name)[0]) for name in chosen[:limit]]


def _crop(image: np.ndarray, size: int | None) -> np.ndarray:
    if size is None:
        return image
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return np.ascontiguousarray(image[top:top + size, left:left + size])


# --- Running ----------------------------------------------------------------------------------------

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


def run(config: str | Path | Mapping[str, Any], *, workers: int | None = None, scheduler: str | None = None,
        store: Store | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Run a benchmark config and return its tidy table (columns ``COLUMNS``).

    Parameters
    ----------
    config : YAML path or mapping
        See ``load_config``.
    workers : int or None
        0: in this process. N: a Dask ``LocalCluster`` of N single-threaded worker processes.
        None: one worker process per core. Ignored when ``scheduler`` is given.
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must be able to
        import ``denoise_core``.
    store : Store or None
        Where each finished task's rows are saved at once. An incomplete run of the same config in
        the store is resumed: its finished tasks are not run again.
    progress : callable or None
        ``progress(done, total)`` after each finished image × method task.

    Returns
    -------
    pandas.DataFrame
        Sorted by image, noise, level, seed, method and metric; ``attrs["run_id"]`` is the store's
        run id (None without a store). A method that fails on a case leaves NaN values and the
        error in that case's rows; the run goes on.
    """
    config = load_config(config)
    images = load_images(config)
    tasks = [Task(index, group, name, method["label"]) for index, (group, name, _) in enumerate(images)
             for method in config["methods"]]
    run_id = store.begin(config, engine=engine_name(workers, scheduler)) if store else None
    try:
        rows = _run_tasks(tasks, images, config, workers, scheduler, store, run_id, progress)
    finally:
        if store:
            store.release(run_id)  # a no-op once finished; else the next run resumes at once
    table = store.results(run_id) if store else tidy(rows)
    table.attrs["run_id"] = run_id
    return table


def _run_tasks(tasks: list[Task], images: list, config: dict, workers: int | None, scheduler: str | None,
               store: Store | None, run_id: int | None, progress: Progress | None) -> list[dict]:
    done = store.done(run_id) if store else set()
    pending = [task for task in tasks if task.key not in done]
    rows, finished = [], len(tasks) - len(pending)
    _report(progress, finished, len(tasks))
    for task_rows in _execute(pending, images, config, workers, scheduler):
        if store:
            store.add(run_id, task_rows)
        rows.extend(task_rows)
        finished += 1
        _report(progress, finished, len(tasks))
    if store:
        store.finish(run_id)
    return rows


def engine_name(workers: int | None, scheduler: str | None) -> str:
    """How ``run`` executes with these arguments, in words (recorded with each run)."""
    if scheduler:
        return f"dask scheduler {scheduler}"
    if workers == 0:
        return "in process"
    return f"dask LocalCluster, {workers or os.cpu_count()} processes × 1 thread"


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _execute(tasks: list[Task], images: list, config: dict, workers: int | None,
             scheduler: str | None) -> Iterator[list[dict]]:
    if workers is not None and workers < 0:
        raise InvalidParameterError(f"workers = {workers}: expected 0 (in process) or more")
    methods = {method["label"]: method for method in config["methods"]}
    if not tasks:
        return
    if workers == 0 and not scheduler:
        for task in tasks:
            yield run_task(images[task.index][2], task, methods[task.method], config)
        return
    from distributed import KilledWorker, as_completed
    with _client(workers, scheduler) as client:
        futures = {client.submit(run_task, images[task.index][2], task, methods[task.method], config, one_thread=True,
                                 pure=False, retries=RETRIES): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except KilledWorker as error:
                yield _failed_rows(task, methods[task.method], config, error)


@contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster
    if scheduler:
        with Client(scheduler, timeout="10s") as client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


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
            params=method["params"], blind=config["blind"], repeats=config["repeats"])
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


def _failed_rows(task: Task, method: Mapping[str, Any], config: Mapping[str, Any], error: Exception) -> list[dict]:
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


# --- Tables -------------------------------------------------------------------------------------------

def tidy(rows: list[dict]) -> pd.DataFrame:
    """Rows (dicts with ``COLUMNS``) as the benchmark's table, typed and in its canonical order."""
    table = pd.DataFrame(list(rows), columns=COLUMNS)
    table = table.astype({"seed": "int64", "level": "float64", "value": "float64", "seconds": "float64"})
    return table.sort_values(ORDER, kind="stable").reset_index(drop=True)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of the registered ``metric`` is better (PSNR, SSIM) or worse (MSE)."""
    return registry.get(metric, "metric").higher_is_better is not False


def leaderboard(table: pd.DataFrame) -> pd.DataFrame:
    """One row per method, best first: mean and std of each metric over every case, and timing.

    Columns ``<metric> mean`` and ``<metric> std`` for each metric of the table, then ``seconds``
    (median per case), ``cases`` (scored by the ranking metric) and ``errors`` (cases where any metric
    failed). Sorted by the ranking metric: the first metric with a value (a metric that failed everywhere,
    such as LPIPS without its weights, ranks nothing).
    """
    metrics = list(dict.fromkeys(table["metric"]))
    board = pd.DataFrame(index=pd.Index(list(dict.fromkeys(table["method"])), name="method"))
    for metric in metrics:
        values = table[table["metric"] == metric].groupby("method")["value"]
        board[f"{metric} mean"], board[f"{metric} std"] = values.mean(), values.std()
    if not metrics:
        return board
    ranking = next((m for m in metrics if board[f"{m} mean"].notna().any()), metrics[0])
    ranked = table[table["metric"] == ranking].groupby("method")
    failed = table[table["error"].notna()].drop_duplicates(CASE).groupby("method").size()
    board["seconds"], board["cases"] = ranked["seconds"].median(), ranked["value"].count()
    board["errors"] = failed.reindex(board.index, fill_value=0)
    return board.sort_values(f"{ranking} mean", ascending=not higher_is_better(ranking))


def paper_table(table: pd.DataFrame, metric: str = "psnr", columns: tuple[str, ...] = ("noise", "level")) -> pd.DataFrame:
    """Mean ``metric`` with methods as rows and ``columns`` (noise level, ``group``, ...) as columns: the papers' layout."""
    rows = table[table["metric"] == metric]
    return rows.pivot_table(index="method", columns=list(columns), values="value", aggfunc="mean", sort=False)


def time_quality(table: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """Per method: mean ``metric``, median seconds and ``pareto`` (no other method is both faster and better)."""
    rows = table[table["metric"] == metric].groupby("method", sort=False)
    points = pd.DataFrame({metric: rows["value"].mean(), "seconds": rows["seconds"].median()}).dropna()
    quality = points[metric] if higher_is_better(metric) else -points[metric]
    points["pareto"] = [not ((points["seconds"] <= s) & (quality >= q) & ((points["seconds"] < s) | (quality > q))).any()
                        for s, q in zip(points["seconds"], quality)]
    return points
