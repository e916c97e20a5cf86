"""How much faster a CPU-bound benchmark runs on 2 Dask worker processes than on 1, in one run.

    python benchmarks/scaling.py [--workers 2] [--smoke]

Runs the same config (Set12, or the sample images when Set12 is absent; four CPU-bound classical
denoisers at sigma 15/25/50, three seeds) on a LocalCluster of 1 worker process, then of N, and
prints both wall times, cluster start included, and their ratio. Run it on a quiet machine: other
load shrinks the ratio. The two tables must hold the same numbers; the script checks it. ``--smoke``:
a 64×64 crop of one sample image, sigma 25, one seed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from denoise_core.benchmark import run  # noqa: E402  (after the project root is on the path)
from denoise_core.paths import SHARED_DATA  # noqa: E402  (after the project root is on the path)

CONFIG = {
    "name": "scaling",
    "images": ["set12" if (SHARED_DATA / "set12").is_dir() else "samples"],
    "max_size": 256,
    "noise": [{"model": "gaussian", "param": "sigma", "levels": [15, 25, 50], "scale": 255}],
    "methods": ["nlm", "tv", "wavelet_bayes", "nlm_fast"],
    "metrics": ["psnr"],
    "seeds": [0, 100, 200],
}
SMOKE = {**CONFIG, "images": [{"samples": ["camera"]}], "max_size": 64, "seeds": [0],
         "noise": [{**CONFIG["noise"][0], "levels": [25]}]}


def timed_run(config: dict, workers: int) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    table = run(config, workers=workers)
    return time.perf_counter() - start, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the second run (default 2)")
    parser.add_argument("--smoke", action="store_true", help="one 64×64 sample crop, sigma 25, one seed")
    args = parser.parse_args()
    config, workers = SMOKE if args.smoke else CONFIG, args.workers
    one, first = timed_run(config, 1)
    many, second = timed_run(config, workers)
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))
    tasks = first[["image", "method"]].drop_duplicates().shape[0]
    print(f"{config['images'][0]}: {tasks} image × method tasks, {len(first)} rows")
    print(f"1 worker: {one:.1f} s   {workers} workers: {many:.1f} s   speed-up: {one / many:.2f}×")


if __name__ == "__main__":
    main()
