"""How long the blind noise estimates take beside a 3×3 median filter on the same image (not a unit test).

The estimates run before every "auto" denoiser, so they must stay a small fraction of the cheapest method.
Times the median of ``--repeats`` calls of ``noise_level`` (white noise and impulses) and ``real_noise_level``
(per brightness, at the pixel and the 2× scale) on the camera sample with 10 % salt-and-pepper noise and on the
astronaut colour photo with Gaussian σ 25/255, and prints each as seconds and as a ratio to the median filter.
The target: ``noise_level`` under 0.2 s on a 512×512 image. ``--smoke``: a 64×64 crop, one repeat.

    python benchmarks/estimate_speed.py [--repeats N] [--smoke]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def median_seconds(call, repeats: int) -> float:
    call()  # warm-up: imports and caches are not counted
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a 64×64 crop, one repeat")
    args = parser.parse_args()
    from skimage import data

    from denoise_core.apply import add_noise, denoise
    from denoise_core.estimate import noise_level, real_noise_level

    side, repeats = (64, 1) if args.smoke else (512, args.repeats)
    images = {"camera, salt & pepper 10%": add_noise(data.camera()[:side, :side] / 255.0, "salt_pepper",
                                                     {"amount": 0.1}, seed=0),
              "astronaut, Gaussian σ 25": add_noise(data.astronaut()[:side, :side] / 255.0, "gaussian",
                                                    {"sigma": 25 / 255}, seed=0)}
    for name, image in images.items():
        median = median_seconds(lambda: denoise(image, "median", {"size": 3}), repeats)
        print(f"{name} ({side}×{side}): median filter 3×3 {median:.4f} s")
        for label, estimate in (("noise_level", noise_level), ("real_noise_level", real_noise_level)):
            seconds = median_seconds(lambda: estimate(image), repeats)
            print(f"  {label:18s}{seconds:8.4f} s   {seconds / median:6.2f} × the median filter")


if __name__ == "__main__":
    main()
