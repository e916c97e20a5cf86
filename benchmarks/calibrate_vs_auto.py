"""Self-supervised calibration against the ``auto`` rule and the oracle, on Set12.

    python benchmarks/calibrate_vs_auto.py [--data ../shared/data/set12] [--images N] [--crop 256]
                                           [--methods nlm,tv,wavelet_bayes,bilateral] [--workers 2] [--smoke]

Every image gets each noise setting (Gaussian σ 15, 25, 50 /255 unclipped, salt and pepper 5% and 20%;
seed 0 for the first image in sorted order, 1 for the next, as in BENCHMARK.md); each method is then
run with three parameter sets: ``calibrate.calibrate``'s choice (the noisy image alone), the ``auto`` rule at
the blind noise estimate (what the app does without a clean image) and the oracle (the grid point of best
true PSNR). Prints the mean PSNR of each as a Markdown table, with calibrated − oracle and calibrated −
auto. ``--crop S`` (default 128) takes the centre S×S of every image to keep the run short on two cores; 0
keeps them whole. ``--smoke``: one 64×64 crop of a sample image, one setting, one method.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402
from denoise_core.benchmark import noisy_protocol  # noqa: E402
from denoise_core.calibrate import calibrate  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.image import read_image  # noqa: E402
from denoise_core.metrics import psnr  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402

SETTINGS = [("gaussian", {"sigma": s / 255}, f"Gaussian σ{s}") for s in (15, 25, 50)] + \
           [("salt_pepper", {"amount": a}, f"salt & pepper {a:.0%}") for a in (0.05, 0.2)]
METHODS = ("nlm", "tv", "wavelet_bayes", "bilateral")


def centre(image: np.ndarray, side: int) -> np.ndarray:
    """The centre ``side``² of ``image`` (the image itself when ``side`` is 0 or not smaller)."""
    if not side or min(image.shape[:2]) <= side:
        return image
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return np.ascontiguousarray(image[top:top + side, left:left + side])


def one(case: tuple) -> dict:
    """Calibrate one method on one noisy image: the three PSNRs and the seconds."""
    path, crop, seed, (noise, params, label), method = case
    clean = centre(read_image(path)[0], crop)
    noisy = noisy_protocol(clean, noise, params, seed)
    start = time.perf_counter()
    found = calibrate(noisy, method, clean=clean)
    return {"setting": label, "method": method, "noisy": psnr(clean, noisy), "calibrated": found.chosen_psnr,
            "auto": found.auto_psnr, "oracle": found.oracle_psnr, "seconds": time.perf_counter() - start}


def table(rows: list[dict]) -> str:
    """Mean PSNR per setting and method, as Markdown."""
    lines = ["| noise | method | noisy | auto | calibrated | oracle | calibrated − oracle | calibrated − auto | s/image |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label in dict.fromkeys(r["setting"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            group = [r for r in rows if r["setting"] == label and r["method"] == method]
            mean = {k: float(np.mean([r[k] for r in group])) for k in ("noisy", "auto", "calibrated", "oracle", "seconds")}
            lines.append(f"| {label} | {method} | {mean['noisy']:.2f} | {mean['auto']:.2f} | {mean['calibrated']:.2f} | "
                         f"{mean['oracle']:.2f} | {mean['calibrated'] - mean['oracle']:+.2f} | "
                         f"{mean['calibrated'] - mean['auto']:+.2f} | {mean['seconds']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "set12"))
    parser.add_argument("--images", type=int, help="only the first N images")
    parser.add_argument("--crop", type=int, default=128, help="centre crop side (0: whole images)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    files, settings, methods = image_files(args.data, args.images), SETTINGS, args.methods.split(",")
    if args.smoke:
        files, settings, methods = [_smoke.folder("camera") / "camera.png"], SETTINGS[1:2], ["tv"]
    cases = [(path, args.crop, seed, setting, method) for seed, path in enumerate(files)
             for setting in settings for method in methods]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) if args.workers > 1 else nullcontext() as pool:
        rows = []
        for row in (pool.map(one, cases) if pool else map(one, cases)):
            rows.append(row)
            print(f"{len(rows)}/{len(cases)} {row['setting']} {row['method']}: auto {row['auto']:.2f}, calibrated "
                  f"{row['calibrated']:.2f}, oracle {row['oracle']:.2f} dB", file=sys.stderr, flush=True)
    print(f"{len(files)} images ({Path(args.data).name if not args.smoke else 'smoke crop'}, centre crop "
          f"{args.crop or 'none'}), {len(cases)} calibrations in {time.perf_counter() - start:.0f} s; mean PSNR (dB); "
          "auto: the rule at the blind noise estimate; oracle: the grid point of best true PSNR")
    print(table(rows))


if __name__ == "__main__":
    main()
