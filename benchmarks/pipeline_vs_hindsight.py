"""The automatic pipeline against the best single denoiser chosen with hindsight, image by image.

    python benchmarks/pipeline_vs_hindsight.py [--images 12] [--crop 256] [--workers 2] [--seed 0] [--smoke]

The held-out set of ``benchmarks/classifier_accuracy.py`` (noise added to BSD68 with random
strengths from ``classifier.training.EVAL_RANGES``), one copy per image and noisy class, centre crops of
``--crop`` pixels, ``--images`` images spread over the set. For each copy: the PSNR of the
pipeline's result (classifier + rule table, no sharpening, no super-resolution) and of every
registered denoiser run with its ``auto`` parameters (the level estimated from the image, as the
pipeline has no reference either); "hindsight" is the best of those per copy. Prints the means per
noise class and overall, and the gap, as Markdown. ``--smoke``: one Gaussian copy of a 64×64 crop of a
sample image, one worker.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402  (after the project root is on the path)
from denoise_core import denoise, names, pipeline  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402
from denoise_core.classifier.inference import CLASSES  # noqa: E402
from denoise_core.classifier.training import EVAL_RANGES, add_class_noise, draw_params  # noqa: E402
from denoise_core.image import read_image  # noqa: E402


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(x, 0, 1).astype(np.float64) - y) ** 2)))


def centre(image: np.ndarray, side: int) -> np.ndarray:
    top, left = max(0, (image.shape[0] - side) // 2), max(0, (image.shape[1] - side) // 2)
    return np.ascontiguousarray(image[top:top + side, left:left + side])


def score(job: tuple[str, np.ndarray, np.ndarray]) -> dict:
    """PSNR of the pipeline and of every denoiser on one noisy copy."""
    label, clean, noisy = job
    result = pipeline.run(noisy)
    singles = {method: psnr(denoise(noisy, method), clean) for method in names("denoiser")}
    best = max(singles, key=singles.get)
    return {"class": label, "classified": result.classification["type"],
            "route": "+".join(s.method for s in result.stages[1:]) or "none", "pipeline": psnr(result.image, clean),
            "noisy": psnr(noisy, clean), "best": best, "hindsight": singles[best]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "bsd68"))
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="one Gaussian copy of a 64×64 sample crop, one worker")
    args = parser.parse_args()
    classes = CLASSES[1:]  # a clean image has nothing to gain
    if args.smoke:
        args.data, args.images, args.crop, args.workers = str(_smoke.folder("camera")), 1, _smoke.SIDE, 1
        classes = ["gaussian"]
    if not Path(args.data).is_dir():
        print(f"{args.data}: folder not found; nothing to evaluate")
        return 0
    os.environ.setdefault("DENOISE_WORKBENCH_THREADS", "1")  # one process per core
    files = image_files(args.data)
    chosen = [files[i] for i in np.linspace(0, len(files) - 1, min(args.images, len(files))).astype(int)]
    rng = np.random.default_rng(args.seed)
    jobs = []
    for path in chosen:
        clean = centre(read_image(path)[0], args.crop)
        for label in classes:
            jobs.append((label, clean, add_class_noise(clean, label, draw_params(EVAL_RANGES[label], rng), rng)))
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(score, jobs))
    print(f"{len(rows)} noisy copies ({len(chosen)} images of {args.data}, {args.crop}² centre crops, seed "
          f"{args.seed}), {len(names('denoiser'))} denoisers each, {time.perf_counter() - start:.0f} s\n")
    print("| noise | copies | classified right | noisy | pipeline | hindsight best | gap | routes | best singles |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in [*classes, "all"]:
        part = [r for r in rows if label in (r["class"], "all")]
        mean = {k: np.mean([r[k] for r in part]) for k in ("noisy", "pipeline", "hindsight")}
        right = sum(r["classified"] == r["class"] for r in part)
        routes = ", ".join(sorted({r["route"] for r in part})) if label != "all" else ""
        best = ", ".join(sorted({r["best"] for r in part})) if label != "all" else ""
        print(f"| {label} | {len(part)} | {right} | {mean['noisy']:.2f} | {mean['pipeline']:.2f} | "
              f"{mean['hindsight']:.2f} | {mean['hindsight'] - mean['pipeline']:.2f} | {routes} | {best} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
