"""Tune the constants of the classical denoisers' ``auto`` rules on train400 crops (never Set12/BSD68).

For each method a grid over one constant ``c`` of its rule; each value is scored by the mean PSNR
over a few train400 images and skimage.data photographs at Gaussian sigma 15, 25 and 50 (unclipped noise, seeds 0, 1, ...), and
the best ``c`` per sigma and overall is printed. The rules in ``denoise_core/methods/classical.py`` use
these results (sizes and iteration counts are interpolated in sigma).

    python benchmarks/tune_auto.py [--methods tv,nlm] [--images 6] [--no-photos] [--smoke]

``--smoke``: every method and grid value on one 32×32 crop of a sample image.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402
from denoise_core import denoise  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "train400"
SIGMAS = (15, 25, 50)

# method -> (params for noise std s in [0, 1] units and constant c, grid of c)
GRIDS = {
    "mean": (lambda s, c: {"size": c}, [3, 5, 7, 9, 11]),
    "median": (lambda s, c: {"size": c}, [3, 5, 7]),
    "gaussian": (lambda s, c: {"width": c}, [0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5]),
    "bilateral": (lambda s, c: {"sigma_color": c * s, "sigma_space": 1 + 0.03 * 255 * s}, [2.0, 2.5, 3.0, 3.5, 4.0, 5.0]),
    "wiener": (lambda s, c: {"sigma": s, "size": c}, [3, 5, 7, 9, 11]),
    "nlm": (lambda s, c: {"sigma": s, "h": c * s, "patch_size": 5 if s < 30 / 255 else 7}, [0.5, 0.6, 0.7, 0.8, 0.9]),
    "nlm_fast": (lambda s, c: {"h": c * s}, [0.6, 0.8, 0.9, 1.0, 1.1, 1.2]),
    "tv": (lambda s, c: {"weight": c * s}, [0.6, 0.8, 0.9, 1.0, 1.2, 1.5]),
    "wavelet_bayes": (lambda s, c: {"sigma": s, "wavelet": c}, ["db1", "db2", "sym4", "sym8"]),
    "wavelet_visu": (lambda s, c: {"sigma": s, "scale": c}, [0.3, 0.4, 0.5, 0.6]),
    "anisotropic": (lambda s, c: {"kappa": 2 * s, "iterations": int(round(c * 255 * s))}, [0.1, 0.2, 0.3, 0.4, 0.6]),
}


def load(count: int, photos: bool) -> list[np.ndarray]:
    """``count`` train400 images, spread over the set; with ``photos`` also 256×256 centre crops of
    six ``skimage.data`` photographs (train400's 180×180 crops are smoother than most photos)."""
    files = sorted(DATA.glob("*.png"))[:: max(1, 400 // count)][:count]
    images = [np.asarray(Image.open(f).convert("L"), np.float32) / 255 for f in files]
    if photos:
        from skimage import color, data, img_as_float32
        for name in ("camera", "coins", "moon", "astronaut", "coffee", "chelsea"):
            x = img_as_float32(getattr(data, name)())
            x = color.rgb2gray(x) if x.ndim == 3 else x
            top, left = (x.shape[0] - 256) // 2, (x.shape[1] - 256) // 2
            images.append(np.ascontiguousarray(x[top:top + 256, left:left + 256], np.float32))
    return images


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(x, 0, 1) - y) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(GRIDS))
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--no-photos", action="store_true", help="train400 only")
    parser.add_argument("--smoke", action="store_true", help="one 32×32 crop of a sample image")
    args = parser.parse_args()
    images = [_smoke.crop("camera", 32)] if args.smoke else load(args.images, not args.no_photos)
    for name in args.methods.split(","):
        rule, grid = GRIDS[name]
        scores = np.zeros((len(grid), len(SIGMAS)))
        for j, s255 in enumerate(SIGMAS):
            s = s255 / 255
            noisy = [x + s * np.random.default_rng(i).standard_normal(x.shape).astype(np.float32)
                     for i, x in enumerate(images)]
            for k, c in enumerate(grid):
                scores[k, j] = np.mean([psnr(denoise(n, name, rule(s, c), auto=False), x)
                                        for n, x in zip(noisy, images)])
        best = [grid[int(np.argmax(scores[:, j]))] for j in range(len(SIGMAS))]
        print(f"{name:14s} " + "  ".join(f"σ{s}: best {b} ({scores[:, j].max():.2f} dB)"
                                         for j, (s, b) in enumerate(zip(SIGMAS, best)))
              + f"  | overall {grid[int(np.argmax(scores.mean(axis=1)))]}", flush=True)


if __name__ == "__main__":
    main()
