"""What ``auto`` gains on camera-like noise: the white-Gaussian estimate against the real-noise one.

Camera noise (``camera`` model: Poisson–Gaussian at ``--peak``, read σ 0.01, correlated over 0.7 px,
JPEG 90) on crops of Set12 and BSD68 (``../shared/data``) and the shipped camera sample, seed 0. For
each method, the mean PSNR over the images with ``auto`` fed ``estimate.noise_level`` (white
Gaussian, the old auto) and ``estimate.real_noise_level`` (the new one), beside the noisy PSNR, and
the smallest gain on one image; the 3×3 median takes no level and is the reference both times.

    nice -n 10 python benchmarks/auto_on_real_noise.py [--images 4] [--side 256] [--peak 30 100] [--smoke]

``--smoke``: one 64² crop of a sample image, NLM and the median only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402
from denoise_core import metrics  # noqa: E402
from denoise_core.apply import add_noise, denoise  # noqa: E402
from denoise_core.estimate import noise_level, real_noise_level  # noqa: E402
from denoise_core.image import read_image  # noqa: E402
from denoise_core.samples import load_sample  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
METHODS = {"bm3d": None, "nlm": None, "wavelet_bayes": None, "median 3×3": ("median", {"size": 3}),
           "ffdnet_gray_blind": None, "drunet_gray_blind": None}


def images(count: int, side: int) -> dict[str, np.ndarray]:
    """The top-left ``side``² crop of the first ``count`` images of Set12 and of BSD68, and of the camera sample."""
    found = {"camera (sample)": load_sample("camera")[0]}
    for name in ("set12", "bsd68"):
        for path in sorted((DATA / name).glob("*.png"))[:count]:
            found[f"{name}/{path.name}"] = read_image(path)[0]
    return {name: np.ascontiguousarray(image[:side, :side]) for name, image in found.items()}


def run(crops: dict[str, np.ndarray], methods: dict, peaks: list[float]) -> list[dict]:
    """One row per peak and method: mean PSNR with the old and the new auto over ``crops``, and the
    smallest gain on one image."""
    rows = []
    for peak in peaks:
        scores: dict[str, list] = {name: [] for name in ["noisy", *methods]}
        for clean in crops.values():
            noisy = add_noise(clean, "camera", {"peak": peak}, seed=0)
            old, new = noise_level(noisy), real_noise_level(noisy)
            scores["noisy"].append((metrics.psnr(clean, noisy),) * 2)
            for label, fixed in methods.items():
                method, params = fixed or (label, None)
                scores[label].append(tuple(metrics.psnr(clean, denoise(noisy, method, params, level=level))
                                           for level in (old, new)))
        for label, pairs in scores.items():
            before, after = np.mean(pairs, axis=0)
            worst = float(np.min(np.diff(pairs, axis=1)))
            rows.append({"peak": peak, "method": label, "old auto": before, "new auto": after, "worst": worst})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images of Set12 and of BSD68 each")
    parser.add_argument("--side", type=int, default=256, help="crop side in pixels")
    parser.add_argument("--peak", type=float, nargs="+", default=[30.0, 100.0], help="photo-electrons at white")
    parser.add_argument("--smoke", action="store_true", help="one 64² crop, NLM and the median")
    args = parser.parse_args()
    if args.smoke:
        crops, peaks = {"camera": _smoke.crop("camera")}, [100.0]
        methods = {"nlm": None, "median 3×3": METHODS["median 3×3"]}
    else:
        crops, methods, peaks = images(args.images, args.side), METHODS, args.peak
    side = next(iter(crops.values())).shape[0]
    print(f"camera noise (read σ 0.01, spread 0.7 px, JPEG 90), seed 0, {len(crops)} crops of {side}²: "
          + ", ".join(crops))
    print(f"{'peak':>6}  {'method':<20} {'old auto':>9} {'new auto':>9} {'gain':>6} {'worst':>6}  "
          "(PSNR dB: mean over the crops; worst: the smallest gain on one crop)")
    for row in run(crops, methods, peaks):
        print(f"{row['peak']:6.0f}  {row['method']:<20} {row['old auto']:9.2f} {row['new auto']:9.2f} "
              f"{row['new auto'] - row['old auto']:+6.2f} {row['worst']:+6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
