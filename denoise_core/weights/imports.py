"""The user's own weights: files imported into the cache folder, and their catalog.

``python -m denoise_core weights import PATH --name NAME`` converts a file (``convert``) to
``<cache>/weights/NAME.safetensors`` and records it in ``<cache>/weights/catalog.json``. ``NAME`` follows
the registry's name rule and is the only input a path is built from: an upload is copied to a temporary
file of our own naming, and the catalog's stored paths are never read back.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path, PureWindowsPath

from .. import registry
from ..errors import InvalidParameterError, WeightsError, one_line
from ..paths import cache_dir
from .catalog import CATALOG, DENOISERS, Entry
from .convert import build_network, convert_published, trained_config
from ..paths import write_atomically
from .files import read_metadata, read_state_dict, save_weights, sha256
from .zoo import ZOO

UPLOAD_SUFFIXES = {".pth": ".pth", ".pt": ".pth", ".safetensors": ".safetensors"}
"""An upload's extension -> the suffix of the temporary file it is written to (its name is never a path)."""


def upload_label(filename: str) -> str:
    """How an uploaded file is named in messages: the last part of the client's name, on one line."""
    return one_line(PureWindowsPath(str(filename)).name, 80) or "upload"


def upload_suffix(filename: str) -> str:
    """The suffix our temporary copy of an upload gets, chosen from ``UPLOAD_SUFFIXES`` by its extension."""
    suffix = PureWindowsPath(str(filename)).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise WeightsError(f"{upload_label(filename)}: not a weights file (expected {', '.join(UPLOAD_SUFFIXES)})")
    return UPLOAD_SUFFIXES[suffix]


def _imported_catalog() -> Path:
    return cache_dir() / "weights" / "catalog.json"


def _imported_file(name: str) -> Path:
    """Where imported weights ``name`` (already checked by ``registry.check_name``) live in the cache."""
    return cache_dir() / "weights" / f"{name}.safetensors"


def _entry_from_json(item: dict) -> Entry:
    """An imported entry read back: its file is always ``<cache>/weights/<name>.safetensors``, never a path
    taken from the JSON, and its name follows the registry's rule."""
    name = registry.check_name(item["name"], "imported weights name")
    if item.get("arch") not in DENOISERS or not isinstance(item.get("config"), dict):
        raise ValueError(f"entry {name!r} lacks a denoiser architecture and its configuration")
    fields = {**item, "path": str(_imported_file(name)), "sha256": str(item["sha256"]), "source": "imported",
              "title": one_line(item.get("title", name), 200), "tags": tuple(map(str, item.get("tags", ())))}
    if item.get("sigma_range") is not None:
        fields["sigma_range"] = tuple(map(float, item["sigma_range"]))
    return Entry(**fields)


def imported() -> dict[str, Entry]:
    """Entries the user imported (``weights import``), from the cache folder's catalog."""
    path = _imported_catalog()
    if not path.exists():
        return {}
    try:
        found = [_entry_from_json(item) for item in json.loads(path.read_text())]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise WeightsError(f"{path}: unreadable catalog of imported weights ({one_line(error, 200)}); "
                           "delete it and import again") from None
    return {entry.name: entry for entry in found}


def _write_catalog(known: dict[str, Entry]) -> None:
    text = json.dumps([asdict(entry) for entry in known.values()], indent=1)
    write_atomically(_imported_catalog(), lambda tmp: Path(tmp).write_text(text))


def import_weights(path: str | Path, name: str, *, title: str = "", noise: str = "gaussian",
                   label: str | None = None) -> Entry:
    """Convert a weights file into the cache folder and record it; returns the new ``Entry``.

    Recognised: the published DnCNN and DRUNet layouts (``.pth``, loaded with ``weights_only=True``) and
    safetensors files written by ``train`` (their metadata names the architecture). The new
    denoiser is registered as ``name`` the next time the library is imported. ``name`` follows
    ``registry.NAME_RULE`` and alone makes the file's path in the cache; ``label`` names the file in
    messages and the title (default: ``path``; an upload's own name, as ``path`` is our temporary copy).

    Raises
    ------
    WeightsError
        Unreadable file, unrecognised layout or shapes. ``InvalidParameterError`` for a bad or taken name.
    """
    path, label = Path(path), one_line(label or path, 200)
    registry.check_name(name, "weights name")
    known = imported()
    if name in CATALOG or name in ZOO:
        raise InvalidParameterError(f"name '{name}' is a shipped or published model; choose another --name")
    if name in registry.names("denoiser") and name not in known:
        raise InvalidParameterError(f"name '{name}' is already a denoiser; choose another --name")
    if not path.is_file():
        raise WeightsError(f"{label}: no such file (give the path of a .pth or .safetensors file)")
    metadata = read_metadata(path, label) if path.suffix == ".safetensors" else {}
    state = read_state_dict(path, label=label)
    if metadata.get("arch"):
        arch, config = metadata["arch"], trained_config(metadata, label)
        model = build_network(arch, config, state, label)
        noise = metadata.get("noise", noise)
    else:
        arch, model = convert_published(state, label)
        config = model.config()
    dest = save_weights(_imported_file(name), model, {"arch": arch, "config": json.dumps(config), "source": label})
    entry = Entry(name=name, path=str(dest), sha256=sha256(dest), arch=arch, config=config,
                  title=one_line(title, 200) or f"{name} (imported from {label})", noise=one_line(noise, 40),
                  source="imported", tags=("imported",))
    _write_catalog({**known, name: entry})
    return entry


def remove_imported(name: str) -> None:
    """Forget an imported entry and delete its converted file."""
    items = imported()
    if name not in items:
        raise WeightsError(f"no imported weights called {name!r} (see python -m denoise_core weights list)")
    Path(items.pop(name).path).unlink(missing_ok=True)
    _write_catalog(items)
