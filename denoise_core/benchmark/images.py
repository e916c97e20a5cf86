"""The clean images of a run: sets, folders, files, zip archives and samples, in the protocol's seed order."""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..datasets import image_files
from ..image.read import is_image_name
from ..errors import InvalidImageError
from ..image import read_image
from ..paths import ROOTS_VAR, SHARED_DATA
from .config import check_unique

ZIP_MEMBER_BYTES = 2**30
"""An image in a zip source may unpack to at most this many bytes (a zip bomb is refused before it is read)."""


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


def run_images(config: Mapping[str, Any]) -> list[tuple[str, str, np.ndarray]]:
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
    check_unique([(group, name) for group, name, _ in images], "group and image name")
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
            members = sorted(m for m in archive.namelist() if is_image_name(Path(m).name))
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
    from ..samples import load_sample, samples
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
