"""Reading a bundle: member by member, within bounds (never unpacking to disk), its paths checked (no zip-slip), its
manifest's schema checked, its inputs' sha256 checked when they are read."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..benchmark import COLUMNS
from ..errors import BundleError, DenoiseError, one_line
from ..image import ImageMeta, check_array, read_image
from .recipe import SCHEMA, workbench_version

MAX_MEMBER_BYTES = 300 * 2**20
"""The most one member may unpack to (as the image readers' decode limit)."""
MAX_TOTAL_BYTES = 2**32
"""The most all members together may unpack to."""
MAX_MEMBERS = 10_000


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


def read_bundle(source: str | os.PathLike | bytes) -> Bundle:
    """Open a bundle: its members' paths and sizes, its manifest (schema checked) and its rows; ``Bundle.input``
    reads an input when asked (sha256 checked).

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
        raise BundleError(f"{label}: no {one_line(name, 80)} in the archive; not a bundle of this workbench") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as error:
        # a corrupt stream, a bad header, an encrypted member or an unknown compression
        raise BundleError(f"{label}: {one_line(name, 80)} is corrupt ({one_line(error, 80)})") from None
    if len(data) > MAX_MEMBER_BYTES:
        raise BundleError(f"{label}: {one_line(name, 80)} unpacks to over {MAX_MEMBER_BYTES:,} bytes; refused")
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
    if not isinstance(manifest["methods"], dict):
        raise BundleError(f"{label}: manifest.json's methods are not a mapping of labels")
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
    if rows["seed"].isna().any() or rows["level"].isna().any() or (rows["seed"] % 1 != 0).any():
        raise BundleError(f"{label}: results.csv has a row without a level, or without a whole-number seed")
    return rows


def _read_input(archive: zipfile.ZipFile, item: Mapping[str, Any], label: str) -> tuple[np.ndarray, ImageMeta]:
    name = one_line(item["file"], 80)
    data = _member(archive, str(item["file"]), label)
    if sha256(data) != item["sha256"]:
        raise BundleError(f"{label}: input {name} has sha256 {sha256(data)[:12]}…, not the manifest's "
                          f"{one_line(item['sha256'], 12)}…; the input was altered")
    try:
        if not str(item["file"]).endswith(".npy"):
            return read_image(data, name=name)
        pixels = check_array(np.load(io.BytesIO(data), allow_pickle=False))
    except (DenoiseError, ValueError) as error:  # not an image of the workbench's, or not a plain NumPy array
        raise BundleError(f"{label}: input {name}: {one_line(error, 120)}") from None
    return pixels, ImageMeta(name=str(item["image"]), format="npy", bit_depth=32, value_range=(0.0, 1.0),
                             color=pixels.ndim == 3, modality=None)


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
