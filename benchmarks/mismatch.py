"""The three mismatch experiments of the Sweeps page, measured: mean PSNR per method and level, crossovers, seconds.

    python benchmarks/mismatch.py [--data ../shared/data/set12] [--images 2] [--size 128] [--seeds 1]
                                  [--workers 0] [--experiments fixed_sigma gaussian_on_other wrong_sigma] [--smoke]

Each experiment (``denoise_core.benchmark.mismatch``) runs its sweeps on the first ``--images`` images of the
folder, centre-cropped to ``--size``, through the benchmark engine (no results store: every case is computed).
Prints, per sweep, a Markdown table of the mean PSNR per method and level, the crossovers (where the ranking
of two methods changes, interpolated) and the median seconds per call and wall seconds of the sweep.
``--smoke``: the fixed-σ experiment on one 32×32 crop of a sample image.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402
from denoise_core.benchmark.mismatch import experiment_configs, experiments  # noqa: E402
from denoise_core.benchmark.sweep import crossovers, run_sweep, seconds_per_method, summary  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402


def report(key: str, images: list, args: argparse.Namespace) -> None:
    """Run experiment ``key`` and print its tables."""
    print(f"## {experiments()[key].title}\n")
    for part, config in experiment_configs(key, images=images, seeds=args.seeds, max_size=args.size,
                                           limit=args.images, metrics=["psnr"]):
        start = time.perf_counter()
        rows = run_sweep(config, workers=args.workers)
        wall = time.perf_counter() - start
        means = summary(rows)
        table = means.pivot_table(index="method", columns="level", values="mean", sort=False)
        print(f"### {part.title}: mean PSNR (dB), {rows['image'].nunique()} images × {args.seeds} seed(s)\n")
        print("| method | " + " | ".join(f"{level:g}" for level in table.columns) + " |")
        print("|---|" + "---|" * len(table.columns))
        for method, values in table.iterrows():
            print(f"| {method} | " + " | ".join(f"{value:.2f}" for value in values) + " |")
        found = crossovers(means)
        print("\nCrossovers: " + ("; ".join(f"{r.ahead} overtakes {r.behind} at {r.level:.3g} ({r.between})"
                                            for r in found.itertuples()) or "none"))
        times = seconds_per_method(rows)
        print("Seconds per call (median): " + ", ".join(f"{r.method} {r.median:.3f}" for r in times.itertuples())
              + f"; sweep wall time {wall:.1f} s\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "set12"), help="folder of clean images")
    parser.add_argument("--images", type=int, default=2, help="the first N images of the folder")
    parser.add_argument("--size", type=int, default=128, help="centre crop side in pixels")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0, help="0: in this process; N: a Dask cluster of N workers")
    parser.add_argument("--experiments", nargs="+", default=list(experiments()), choices=list(experiments()))
    parser.add_argument("--smoke", action="store_true", help="the fixed-σ experiment on one 32×32 sample crop")
    args = parser.parse_args()
    if args.smoke:
        args.images, args.size, args.experiments = 1, 32, ["fixed_sigma"]
        args.data = str(_smoke.folder("camera", side=32))
    for key in args.experiments:
        report(key, [{"folder": args.data}], args)


if __name__ == "__main__":
    main()
