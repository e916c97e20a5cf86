"""How well noise forensics recovers known noise: the fitted parameter against the truth, and how often the verdict
names the noise, with the clean reference and without, on Set12.

    python benchmarks/forensics_recovery.py [--data ../shared/data/set12] [--seeds 1] [--smoke]

Cases: Gaussian σ 15, 25, 50 /255; Poisson peak 10, 30, 50; speckle var 0.02, 0.04, 0.1; Rician σ 0.03, 0.05, 0.1;
salt and pepper 5% and 20%; JPEG quality 10 and 30. Per case and reference: the median over images and seeds of
the recovered value (Gaussian: the additive fit's σ; Poisson: 1 / the linear fit's gain; speckle: the quadratic
fit's var; Rician: the Rice fit's σ; salt and pepper: the impulse density's fraction; JPEG: the share of images
whose 8×8 grid is detected), the median relative error, and the share of verdicts naming the noise. It exits
cleanly with a message when the folder is absent. ``--smoke``: one case per model on a 128×128 sample crop.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402  (after the project root is on the path)
from denoise_core import forensics  # noqa: E402
from denoise_core.apply import add_noise  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.image import read_image  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402

CASES = [("gaussian", "sigma", v / 255) for v in (15, 25, 50)] + [("poisson", "peak", v) for v in (10.0, 30.0, 50.0)] \
    + [("speckle", "var", v) for v in (0.02, 0.04, 0.1)] + [("rician", "sigma", v) for v in (0.03, 0.05, 0.1)] \
    + [("salt_pepper", "amount", v) for v in (0.05, 0.2)] + [("jpeg", "quality", v) for v in (10, 30)]


def recovered(model: str, report: forensics.Report) -> float:
    """What the report says of the parameter ``model``'s case sets."""
    fits, densities = report.fits, report.densities
    return {"gaussian": lambda: fits["additive"].params["sigma"], "poisson": lambda: 1 / fits["poisson"].params["gain"],
            "speckle": lambda: fits["speckle"].params["var"], "rician": lambda: fits["rician"].params["sigma"],
            "salt_pepper": lambda: densities["impulse"].params["fraction"],
            "jpeg": lambda: float(report.grid.detected)}[model]()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "set12"), help="folder of clean images")
    parser.add_argument("--seeds", type=int, default=1, help="noise seeds per image and case")
    parser.add_argument("--smoke", action="store_true", help="one case per model on a 128×128 sample crop")
    args = parser.parse_args()
    cases = CASES
    if args.smoke:
        args.data, args.seeds = str(_smoke.folder("camera", side=128)), 1
        cases = [case for number, case in enumerate(CASES) if number in (1, 3, 7, 10, 13, 15)]
    if not Path(args.data).is_dir():
        print(f"{args.data}: folder not found; nothing to measure (place Set12 there or pass --data)")
        return 0
    images = [read_image(path)[0] for path in image_files(args.data)]
    start = time.perf_counter()
    print(f"{len(images)} images from {args.data}, seeds 0–{args.seeds - 1}\n")
    print("| noise | truth | reference | recovered (median) | median relative error | named right |")
    print("|---|---|---|---|---|---|")
    for model, param, truth in cases:
        for reference in (True, False):
            values, named = [], []
            for image in images:
                for seed in range(args.seeds):
                    noisy = add_noise(image, model, {param: truth}, seed=seed)
                    report = forensics.analyse(noisy, image if reference else None)
                    values.append(recovered(model, report))
                    named.append(report.kind == model)
            value = float(np.median(values))
            error = "—" if model == "jpeg" else f"{100 * np.median(np.abs(np.array(values) / truth - 1)):.1f}%"
            print(f"| {model} | {param} {truth:.4g} | {'clean' if reference else 'none'} | {value:.4g} | {error} | "
                  f"{100 * np.mean(named):.0f}% |")
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
