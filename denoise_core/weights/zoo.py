"""The published model zoo: denoisers whose official weights are downloaded on request (not shipped).

Each ``Published`` entry says where its file comes from (``download.Source``: official URL, size, sha256 and
how sure that hash is), the network that holds it (a ``models.ARCHITECTURES`` name, its options and the
renaming of the file's keys to ours), its licence, paper and the paper's PSNR table. Once fetched into
``<cache>/zoo/`` (``known.fetch``) it is a weights ``Entry``, loaded from its official ``.pth`` file with
``weights_only=True``; ``learned.fetch_published`` fetches and registers it.
Facts from the KAIR/DPIR releases (https://github.com/cszn/KAIR, MIT licence). No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..paths import cache_dir
from .catalog import BLIND, Entry
from .download import HASH_NOTES, Source, cached, read_index

KAIR = "https://github.com/cszn/KAIR/releases/download/v1.0/"
KAIR_LICENCE = "MIT (cszn/KAIR)"
DNCNN_PAPER = ("K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, \"Beyond a Gaussian Denoiser: Residual Learning of "
               "Deep CNN for Image Denoising\", IEEE TIP 2017")
FFDNET_PAPER = ("K. Zhang, W. Zuo, L. Zhang, \"FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image "
                "Denoising\", IEEE TIP 2018")
DRUNET_PAPER = ("K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool, R. Timofte, \"Plug-and-Play Image Restoration "
                "with Deep Denoiser Prior\", IEEE TPAMI 2021")
TO_DNCNN = (("model.", "dncnn."),)
TO_FFDNET = (("model.", "body."),)


@dataclass(frozen=True)
class Published:
    """A published denoiser: its file, its network, and what its paper reports.

    ``rename``: (prefix in the file, prefix in our network) pairs applied to the file's keys.
    ``psnr``: the paper's mean PSNR (dB), e.g. ``{"BSD68 σ25": 29.23}``.
    """

    name: str
    source: Source
    arch: str
    config: dict
    title: str
    paper: str
    psnr: dict = field(default_factory=dict)
    licence: str = KAIR_LICENCE
    sigma_range: tuple[float, float] | None = BLIND
    rename: tuple[tuple[str, str], ...] = ()
    approx_bytes: int = 0
    """The file's size when its exact size (``source.size``) is not recorded: for labels only."""

    @property
    def channels(self) -> int:
        return int(self.config.get("channels", 1))


def _dncnn(name: str, file: str, sha: str, trust: str, size: int, *, channels: int, depth: int, title: str,
           psnr: dict, sigma_range=BLIND) -> Published:
    return Published(name, Source(KAIR + file, sha, trust, size), "dncnn",
                     {"channels": channels, "depth": depth, "width": 64, "batch_norm": False}, title, DNCNN_PAPER,
                     psnr, sigma_range=sigma_range, rename=TO_DNCNN, approx_bytes=2_200_000)


def _sigma(value: int) -> tuple[float, float]:
    return (value / 255, value / 255)


ZOO: dict[str, Published] = {p.name: p for p in (
    _dncnn("kair_dncnn_15", "dncnn_15.pth", "d1f48a581f42bd932de630a13e0b776ace33f6a24efa5572c112028f632a963f",
           "expected", 0, channels=1, depth=17, title="DnCNN-S σ15 (published, KAIR)",
           psnr={"BSD68 σ15": 31.73}, sigma_range=_sigma(15)),
    _dncnn("kair_dncnn_25", "dncnn_25.pth", "0451a70de9b672ae037270498fbb1c17a1c1c4403785df586ff65df5b858e5b0",
           "pinned", 2_224_903, channels=1, depth=17, title="DnCNN-S σ25 (published, KAIR)",
           psnr={"BSD68 σ25": 29.23}, sigma_range=_sigma(25)),
    _dncnn("kair_dncnn_50", "dncnn_50.pth", "83c11202a88e7b238d08107060c909cb3e692f8177d3470d26d3f1a7b3475a83",
           "expected", 0, channels=1, depth=17, title="DnCNN-S σ50 (published, KAIR)",
           psnr={"BSD68 σ50": 26.23}, sigma_range=_sigma(50)),
    _dncnn("kair_dncnn_gray_blind", "dncnn_gray_blind.pth",
           "cc2ac7fa2f248a7f7a3da414a848326634511ec8b5adb7799e857ed788067bfe", "expected", 2_668_897,
           channels=1, depth=20, title="DnCNN-B gray, blind σ 0–55 (published, KAIR)",
           psnr={"BSD68 σ15": 31.61, "BSD68 σ25": 29.16, "BSD68 σ50": 26.23}),
    _dncnn("kair_dncnn_color_blind", "dncnn_color_blind.pth",
           "dfe11a6b703304df82cdf236f431fc6492766c7b9119d97e943edeb392c710a3", "pinned", 2_678_121,
           channels=3, depth=20, title="CDnCNN-B colour, blind σ 0–55 (published, KAIR)",
           psnr={"CBSD68 σ15": 33.89, "CBSD68 σ25": 31.23, "CBSD68 σ50": 27.92}),
    Published("kair_ffdnet_gray", Source(KAIR + "ffdnet_gray.pth",
                                         "3c592bc022b4ec609e5e3b03776267c6297eba2714fd3c5f5dae62c12f7ac9c3",
                                         "expected"),
              "ffdnet", {"channels": 1, "depth": 15, "width": 64, "noise_map": True, "residual": False,
                         "level_maps": 1},
              "FFDNet gray, σ 0–75 (published, KAIR)", FFDNET_PAPER,
              {"BSD68 σ15": 31.63, "BSD68 σ25": 29.19, "BSD68 σ50": 26.29}, sigma_range=(0.0, 75 / 255),
              rename=TO_FFDNET, approx_bytes=3_300_000),
    Published("kair_ffdnet_color", Source(KAIR + "ffdnet_color.pth",
                                          "286f04f7e3a20254c067ba95efb5d3339f4fc8a09a365a93cd469184d4cdb279",
                                          "expected", 3_411_551),
              "ffdnet", {"channels": 3, "depth": 12, "width": 96, "noise_map": True, "residual": False,
                         "level_maps": 1},
              "FFDNet colour, σ 0–75 (published, KAIR)", FFDNET_PAPER,
              {"CBSD68 σ15": 33.87, "CBSD68 σ25": 31.21, "CBSD68 σ50": 27.96}, sigma_range=(0.0, 75 / 255),
              rename=TO_FFDNET),
    Published("kair_drunet_gray", Source(KAIR + "drunet_gray.pth"),
              "drunet", {"channels": 1, "width": 64, "levels": 3, "blocks": 4, "noise_map": True},
              "DRUNet gray, σ 0–50 (published, KAIR/DPIR)", DRUNET_PAPER,
              {"BSD68 σ15": 31.91, "BSD68 σ25": 29.48, "BSD68 σ50": 26.59}, sigma_range=(0.0, 50 / 255),
              approx_bytes=130_000_000),
    Published("kair_drunet_color", Source(KAIR + "drunet_color.pth",
                                          "479abe3c5327dfd10ff54a80ec7d4098ca80752a5c9492cdff31cee430bec4b4",
                                          "pinned"),
              "drunet", {"channels": 3, "width": 64, "levels": 3, "blocks": 4, "noise_map": True},
              "DRUNet colour, σ 0–50 (published, KAIR/DPIR)", DRUNET_PAPER,
              {"CBSD68 σ15": 34.30, "CBSD68 σ25": 31.69, "CBSD68 σ50": 28.51}, sigma_range=(0.0, 50 / 255),
              approx_bytes=130_600_000),
)}
"""The published denoisers, by catalog name (the hashes' sureness as recorded in the zoo's facts)."""
MEASURED_HERE: dict[str, dict[str, float]] = {
    "kair_dncnn_25": {"BSD68 σ25": 29.23},
    "kair_dncnn_gray_blind": {"BSD68 σ15": 31.62, "BSD68 σ25": 29.17, "BSD68 σ50": 26.23},
    "kair_dncnn_color_blind": {"CBSD68 σ25": 31.24},
    "kair_ffdnet_color": {"CBSD68 σ25": 31.21},
}
"""Mean PSNR (dB) of the official files, measured by ``benchmarks/learned_vs_reference.py`` (the BENCHMARK.md
protocol); a model missing here could not be had on the measuring machine: its quality was not measured."""


def size_label(published: Published) -> str:
    """``2.2 MB`` (``≈`` when only approximate)."""
    exact = published.source.size
    return ("" if exact else "≈") + f"{(exact or published.approx_bytes) / 1e6:.1f} MB"


def zoo_summary(published: Published) -> str:
    """One line for a published model: size, licence, the paper's numbers."""
    numbers = ", ".join(f"{key} {value:.2f} dB" for key, value in published.psnr.items())
    return f"{size_label(published)}, licence {published.licence}; paper: {numbers}"


def zoo_folder() -> Path:
    """Where the published files of ``ZOO`` are kept once fetched, with their ``index.json``."""
    return cache_dir() / "zoo"


def zoo_entry(published: Published, index: dict[str, dict] | None = None) -> Entry | None:
    """The weights entry of a fetched published model; None while its file is not in the cache (``index``: the
    zoo folder's, read here when not given)."""
    have = cached(published.source, zoo_folder(), index)
    if have is None:
        return None
    title = published.title + (" — hash not published" if have.hash == "first use" else "")
    return Entry(published.name, str(have.path), have.sha256, published.arch, published.config, title,
                 source="zoo", tags=("published",), sigma_range=published.sigma_range, rename=published.rename,
                 hash_note=HASH_NOTES[have.hash])


def fetched_zoo() -> dict[str, Entry]:
    """The published models whose files are in the cache."""
    index = read_index(zoo_folder())
    found = {name: zoo_entry(published, index) for name, published in ZOO.items()}
    return {name: entry for name, entry in found.items() if entry is not None}
