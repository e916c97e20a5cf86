"""How much faster a CPU-bound benchmark runs on 2 Dask worker processes than on 1, in one run.

    python benchmarks/scaling.py [--workers 2]

Runs the same config (Set12, or the sample images when Set12 is absent; four CPU-bound classical
denoisers at sigma 15/25/50, three seeds) on a LocalCluster of 1 worker process, then of N, and
prints both wall times, cluster start included, and their ratio. Run it on a quiet machine: other
load shrinks the ratio. The two tables must hold the same numbers; the script checks it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from denoise_core.benchmark import SHARED_DATA, run  # noqa: E402  (after the project root is on the path)

CONFIG = {
    "name": "scaling",
    "images": ["set12" if (SHARED_DATA / "set12").is_dir() else "samples"],
    "max_size": 256,
    "noise": [{"model": "gaussian", "param": "sigma", "levels": [15, 25, 50], "scale": 255}],
    "methods": ["nlm", "tv", "wavelet_bayes", "nlm_fast"],
    "metrics": ["psnr"],
    "seeds": [0, 100, 200],
}


def timed_run(workers: int) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    table = run(CONFIG, workers=workers)
    return time.perf_counter() - start, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the second run (default 2)")
    workers = parser.parse_args().workers
    one, first = timed_run(1)
    many, second = timed_run(workers)
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))
    tasks = first[["image", "method"]].drop_duplicates().shape[0]
    print(f"{CONFIG['images'][0]}: {tasks} image × method tasks, {len(first)} rows")
    print(f"1 worker: {one:.1f} s   {workers} workers: {many:.1f} s   speed-up: {one / many:.2f}×")


if __name__ == "__main__":
    main()
