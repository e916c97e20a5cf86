"""CPU seconds per 512×512 gray image of DRUNet configurations beside the shipped FFDNet.

    python scripts/time_drunet.py [--threads 2] [--repeats 3] [--size 512] [--smoke]

Each network runs through the same adapter the app uses (``runner.Network``), once to warm up and
then ``--repeats`` times; the median is printed. DRUNet weights are random (the time does not depend
on them); FFDNet is the shipped ``ffdnet_gray_blind``. ``--smoke``: a 64×64 image, one repeat, one thread.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._smoke import SIDE  # noqa: E402
from denoise_core import runner, weights  # noqa: E402
from denoise_core.models import DRUNet, parameter_count  # noqa: E402

FFDNET = "ffdnet_gray_blind"
CONFIGS = [{"width": 64, "levels": 3, "blocks": 4}, {"width": 32, "levels": 3, "blocks": 4},
           {"width": 32, "levels": 3, "blocks": 2}, {"width": 16, "levels": 3, "blocks": 2}]


def seconds(network: runner.Network, image: np.ndarray, repeats: int) -> float:
    network(image, 25 / 255)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        network(image, 25 / 255)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--smoke", action="store_true", help="a 64×64 image, one repeat, one thread")
    args = parser.parse_args()
    if args.smoke:
        args.size, args.repeats, args.threads = SIDE, 1, 1
    torch.set_num_threads(args.threads)
    image = np.random.default_rng(0).random((args.size, args.size), dtype=np.float32)
    cpu = torch.device("cpu")
    ffdnet = runner.Network(runner.load(FFDNET).model, target=cpu)
    options = weights.get_entry(FFDNET).config
    rows = [(f"{FFDNET} (depth {options['depth']}, width {options['width']})", parameter_count(ffdnet.model),
             seconds(ffdnet, image, args.repeats))]
    for config in CONFIGS:
        torch.manual_seed(0)
        model = DRUNet(**config)
        name = f"drunet width {config['width']} levels {config['levels']} blocks {config['blocks']}"
        rows.append((name, parameter_count(model), seconds(runner.Network(model, target=cpu), image, args.repeats)))
    print(f"{args.size}×{args.size} gray, {args.threads} threads, median of {args.repeats} after a warm-up")
    print(f"{'network':44} {'parameters':>12} {'seconds':>8}")
    for name, parameters, spent in rows:
        print(f"{name:44} {parameters:>12,} {spent:>8.2f}")


if __name__ == "__main__":
    main()
