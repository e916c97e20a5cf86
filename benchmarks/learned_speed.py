"""CPU time of the learned denoisers against BM3D on one 512×512 gray image, in one run.

    python benchmarks/learned_speed.py [--repeats 3] [--smoke]

Times (median of ``--repeats`` calls after a warm-up, the library's CPU thread setting) BM3D, a
DnCNN-S network (17 layers, 64 channels, batch norm folded; the published weights when
``../shared/reference_weights`` has them, else random ones: the time is the same), and every
registered learned denoiser, on the X-ray sample with Gaussian noise σ25; each method gets the
parameters its ``auto`` rule picks for that level. Prints seconds and each time as a fraction of
BM3D's; the app's default learned gray denoiser must stay at or below 0.25. ``--smoke``: a 64×64
crop, one repeat.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._smoke import SIDE  # noqa: E402
from denoise_core import add_noise, denoise, runner, samples, weights  # noqa: E402
from denoise_core.methods import learned  # noqa: E402
from denoise_core.image import read_image  # noqa: E402
from denoise_core.models import DnCNN  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference_weights" / "saoyan_dncnn_s_25.pth"
SIGMA = 25 / 255
LEVEL = {"sigma": SIGMA, "impulse": 0.0}


def seconds(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def dncnn_s() -> runner.Network:
    if REFERENCE.is_file():
        model = weights.convert_dncnn(torch.load(REFERENCE, map_location="cpu", weights_only=True), REFERENCE)
    else:
        model = DnCNN(depth=17, width=64, batch_norm=True)
    return runner.Network(model, target=torch.device("cpu"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="a 64×64 crop, one repeat")
    args = parser.parse_args()
    side = SIDE if args.smoke else 512
    args.repeats = 1 if args.smoke else args.repeats
    clean, _ = read_image(samples.sample_path("xray"))
    noisy = add_noise(clean[:side, :side], "gaussian", {"sigma": SIGMA, "clip": False}, seed=0)
    threads = runner.configure_threads()
    print(f"image {noisy.shape[1]}×{noisy.shape[0]} gray, σ25, {threads} CPU threads, median of {args.repeats}")
    bm3d = seconds(lambda: denoise(noisy, "bm3d", level=LEVEL), args.repeats)
    rows = [("bm3d", bm3d)]
    network = dncnn_s()
    rows.append(("DnCNN-S (17×64)", seconds(lambda: network(noisy), args.repeats)))
    for name in learned.registered():
        rows.append((name, seconds(lambda: denoise(noisy, name, level=LEVEL), args.repeats)))
    for name, value in rows:
        mark = "  (app default)" if name == learned.DEFAULT_GRAY else ""
        print(f"{name:28} {value:7.3f} s   {value / bm3d:5.2f} × BM3D{mark}")


if __name__ == "__main__":
    main()
