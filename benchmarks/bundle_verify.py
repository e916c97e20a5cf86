"""Size of a benchmark run's reproducible bundle, and the time to write and to verify it.

    python benchmarks/bundle_verify.py [--methods median gaussian] [--levels 15 25 50] [--smoke]

Runs the methods on Set12 (``../shared/data/set12``, Gaussian noise at ``--levels`` /255, PSNR and SSIM) in this
process into a temporary results store, writes the run's bundle without and with its output images, and verifies
the latter (``bundle.verify_bundle``: every number recomputed). Prints the seconds of each step, the bundles'
sizes in MB and how many numbers matched. ``--smoke``: two 64×64 crops of sample images, one level.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._smoke import folder  # noqa: E402
from denoise_core.benchmark import run  # noqa: E402
from denoise_core.benchmark.store import Store  # noqa: E402
from denoise_core.bundle import benchmark_bundle, verify_bundle  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402


def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["median", "gaussian"])
    parser.add_argument("--levels", nargs="+", type=float, default=[15, 25, 50])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    images = str(folder("camera", "astronaut")) if args.smoke else str(SHARED_DATA / "set12")
    levels = args.levels[:1] if args.smoke else args.levels
    config = {"name": "bundle_verify", "images": [images], "methods": args.methods,
              "noise": [{"model": "gaussian", "levels": levels, "scale": 255}]}
    with tempfile.TemporaryDirectory() as work:
        store = Store(Path(work) / "results.sqlite")
        table, seconds = timed(lambda: run(config, workers=0, store=store))
        run_id = table.attrs["run_id"]
        print(f"run: {table['image'].nunique()} images x {len(args.methods)} methods x {len(levels)} levels, "
              f"{len(table)} numbers, {seconds:.1f} s")
        bare, seconds = timed(lambda: benchmark_bundle(store, run_id))
        print(f"bundle without output images: {len(bare) / 1e6:.2f} MB, written in {seconds:.1f} s")
        full, seconds = timed(lambda: benchmark_bundle(store, run_id, outputs=True))
        print(f"bundle with output images: {len(full) / 1e6:.2f} MB, written in {seconds:.1f} s")
        path = Path(work) / "run.zip"
        path.write_bytes(full)
        found = verify_bundle(path)
        print(f"verify: {found.summary()}")
    if not found.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
