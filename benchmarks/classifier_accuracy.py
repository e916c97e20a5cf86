"""Accuracy of the noise-type classifier on a held-out synthetic set: noise added to BSD68.

    python benchmarks/classifier_accuracy.py [--data ../shared/data/bsd68] [--per-image 3] [--seed 0] [--smoke]

Every image of the folder (BSD68: 68 gray photographs the classifier never saw; it is trained on
train400) gets ``--per-image`` noisy copies of every class of ``classifier.inference.CLASSES``, with
strengths drawn uniformly from ``classifier.training.EVAL_RANGES``: Gaussian sigma 5–50/255, salt and
pepper 1–20 %, speckle var 0.01–0.1, Poisson peak 5–100, JPEG quality 10–50, scribbles around their
defaults (count 4–16, thickness 1–3) and mixed around its default strength (0.3–0.7, two or more noise
families). Each copy goes through ``classifier.inference.predict``, as a user's image would; the script
prints overall accuracy, per-class recall and the confusion matrix as Markdown. It exits cleanly with a
message when the folder is absent. ``--smoke``: one copy per class of a 64×64 crop of a sample image.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402  (after the project root is on the path)
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402
from denoise_core.classifier.inference import CLASSES, predict  # noqa: E402
from denoise_core.classifier.training import EVAL_RANGES, add_class_noise, confusion, draw_params, report  # noqa: E402
from denoise_core.image import read_image  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "bsd68"), help="folder of clean held-out images")
    parser.add_argument("--per-image", type=int, default=3, help="noisy copies per image and class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="one copy per class of a 64×64 sample crop")
    args = parser.parse_args()
    if args.smoke:
        args.data, args.per_image = str(_smoke.folder("camera")), 1
    if not Path(args.data).is_dir():
        print(f"{args.data}: folder not found; nothing to evaluate (place BSD68 there or pass --data)")
        return 0
    rng = np.random.default_rng(args.seed)
    truth, guesses = [], []
    start = time.perf_counter()
    for path in tqdm(image_files(args.data), desc="images", file=sys.stderr):
        image, _ = read_image(path)
        for _ in range(args.per_image):
            for name in CLASSES:
                noisy = add_class_noise(image, name, draw_params(EVAL_RANGES[name], rng), rng)
                truth.append(name)
                guesses.append(predict(noisy)["type"])
    seconds = time.perf_counter() - start
    print(f"{len(truth)} samples from {args.data} ({args.per_image} per image and class, seed {args.seed}), "
          f"{1000 * seconds / len(truth):.0f} ms per sample including the noise\n")
    print(report(confusion(truth, guesses)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
