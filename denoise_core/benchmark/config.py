"""Benchmark configs: every default filled in, every name and value checked, one hash per config."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from .. import registry
from ..errors import InvalidParameterError
from .protocol import protocol_noise_params

NAMED_SETS = ("set12", "bsd68")
SOURCE_KINDS = ("set", "folder", "files", "zip", "samples")
SEED_MAX = 2**32 - 1

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
        (parameters not given follow the method's ``auto`` rule; ``sigma_factor``: that rule gets this × the
        true or estimated σ, a method told the wrong noise level), or ``{family: learned}``: every
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
    check_unique([m["label"] for m in methods], "method label")
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


def check_unique(items: list, what: str) -> None:
    """Refuse two entries that share an item (``what`` names it in the message)."""
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
    entry = _mapping(entry, "methods", ("name", "params", "label", "sigma_factor"))
    method = registry.get(str(entry.get("name")), "denoiser")
    params = entry.get("params", "auto")
    if params in ("auto", None):
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"config: method '{method.name}' params = {params!r}: expected a mapping or auto")
    checked = {name: method.param(str(name)).check(value) for name, value in params.items()}
    told = _sigma_factor(method, entry.get("sigma_factor", 1.0), checked)
    return [{"name": method.name, "label": str(entry.get("label") or method.name), "params": checked, **told}]


def _sigma_factor(method: registry.Method, factor: Any, params: Mapping[str, Any]) -> dict:
    """``{"sigma_factor": factor}`` for a method told a wrong noise level, ``{}`` for the true one (so configs
    written before the factor existed keep their hash)."""
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 10:
        raise InvalidParameterError(f"config: method '{method.name}' sigma_factor = {factor!r}: expected a number "
                                    "in (0, 10]")
    if factor == 1:
        return {}
    if method.auto is None or "sigma" in params:
        raise InvalidParameterError(f"config: method '{method.name}' sigma_factor: the method takes no noise level "
                                    "from 'auto' here; choose one with a sigma parameter left on auto")
    return {"sigma_factor": float(factor)}
