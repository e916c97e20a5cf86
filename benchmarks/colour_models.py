"""The blind colour DnCNN beside the gray models (run channel by channel) and colour BM3D, in one run.

    python benchmarks/colour_models.py [--photos training_data/colour/test] [--sigmas 15 25 50] [--methods NAME ...]
                                       [--smoke]

The BENCHMARK.md protocol (``denoise_core.benchmark.evaluate``: unclipped Gaussian noise seeded per
image, non-blind) on two colour sets no model trained on:

* ``photos``: the held-out colour photographs of ``scripts/make_colour_data.py`` (astronaut, coffee);
* ``tinted Set12``: Set12 as the luminance of colour images with made-up chroma (``tint``, the recipe
  of the tinted training images, seeded apart from them): a synthetic set, reported as such.

Prints one Markdown table of mean PSNR / SSIM per method, set and σ: the numbers of the model card.
``--smoke``: one 64×64 crop of a colour and of a gray sample image as the two sets, σ 25 only.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchmarks import _smoke  # noqa: E402
from denoise_core.benchmark import evaluate, summarise  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402
from denoise_core.image import read_image  # noqa: E402
from make_colour_data import save, tint  # noqa: E402

METHODS = ["dncnn_color_blind", "dncnn_gray_blind", "ffdnet_gray_blind", "bm3d"]
TINT_SEED = 10_000
"""Seeds of the tinted Set12 images start here, apart from those of the training images (0–399)."""


def tinted(folder: Path, out: Path) -> list[Path]:
    """``folder``'s gray images tinted into ``out``; their paths."""
    for index, path in enumerate(image_files(folder)):
        save(out / f"tinted_{path.stem}.png", tint(read_image(path)[0], np.random.default_rng(TINT_SEED + index)))
    return image_files(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=str(ROOT / "training_data" / "colour" / "test"))
    parser.add_argument("--set12", default=str(SHARED_DATA / "set12"))
    parser.add_argument("--sigmas", nargs="+", type=int, default=[15, 25, 50])
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--smoke", action="store_true", help="a 64×64 crop per set, σ 25")
    args = parser.parse_args()
    if args.smoke:
        args.photos, args.set12, args.sigmas = _smoke.folder("astronaut"), _smoke.folder("camera"), [25]
    sets = {"photos": image_files(args.photos), "tinted Set12": tinted(Path(args.set12), Path(tempfile.mkdtemp()))}
    print("| method | " + " | ".join(f"{name} σ{s}" for name in sets for s in args.sigmas) + " |")
    print("|---|" + "---|" * (len(sets) * len(args.sigmas)))
    for method in args.methods:
        cells = []
        for files in sets.values():
            for sigma in args.sigmas:
                summary = summarise(list(evaluate(method, files, noise_params={"sigma": sigma / 255, "clip": False})))
                cells.append(f"{summary['psnr']:.2f} / {summary['ssim']:.4f}")
        print(f"| {method} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
