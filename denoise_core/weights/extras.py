"""The other weights fetched on request (``DOWNLOADS``): not denoisers but the files LPIPS and the Real-ESRGAN
super-resolution load, each kept in ``<cache>/<name>/``. No torch here.
"""
from __future__ import annotations

from pathlib import Path

from ..paths import cache_dir
from .download import Source


DOWNLOADS: dict[str, tuple[Source, ...]] = {
    "lpips": (
        # torchvision's AlexNet (ImageNet); torchvision names the file after the first 8 hex digits of its sha256.
        Source("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
               "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", "pinned"),
        # LPIPS v0.1 linear heads (richzhang/PerceptualSimilarity, BSD-2-Clause), as packaged in lpips 0.1.4.
        Source("https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
               "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", "pinned", 6_009),
    ),
    # Real-ESRGAN (xinntao/Real-ESRGAN, BSD-3-Clause) official releases; the digests are published identically
    # by several independent projects that pin these files.
    "realesrgan_x4plus": (
        Source("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
               "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1", "pinned"),
    ),
    "realesr_general_x4v3": (
        Source("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
               "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292", "pinned"),
    ),
}
DOWNLOAD_TITLES = {"lpips": "LPIPS: AlexNet ImageNet weights (torchvision) + v0.1 linear heads (233 MB)",
                   "realesrgan_x4plus": "Real-ESRGAN x4plus (RRDBNet, 67 MB)",
                   "realesr_general_x4v3": "Real-ESRGAN general x4v3 (SRVGGNetCompact, 4.9 MB)"}


def download_dir(name: str) -> Path:
    return cache_dir() / name


def fetched_paths(name: str) -> list[Path]:
    """Where the files of download ``name`` live once fetched (they may not exist)."""
    return [download_dir(name) / item.filename for item in DOWNLOADS[name]]


def fetched(name: str) -> bool:
    """Whether every file of download ``name`` is present (sha256 is checked when they are loaded)."""
    return all(path.is_file() for path in fetched_paths(name))
