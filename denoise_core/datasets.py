"""Folders of images: their image files (those ``read_image`` reads, NIfTI and DICOM too), in sorted order."""
from __future__ import annotations

from pathlib import Path

from .errors import InvalidImageError
from .image.read import IMAGE_SUFFIXES, is_image_name


def image_files(folder: str | Path, limit: int | None = None) -> list[Path]:
    """The images of ``folder`` in sorted file order (the protocol's seed order), at most ``limit``.

    Only regular files count (a link is followed to one): a folder, pipe or device named like an image is left out.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidImageError(f"{folder}: no such folder of images")
    files = sorted(p for p in folder.iterdir() if is_image_name(p.name) and p.is_file())
    if not files:
        raise InvalidImageError(f"{folder}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files[:limit]
