"""Our learned denoisers beside BM3D and the published models, gray and colour, in one run.

    python benchmarks/learned_vs_reference.py [--sets bsd68 set12 cbsd68:17] [--sigmas 15 25 50] [--images N]
                                              [--methods NAME ...] [--published NAME ...] [--no-bm3d] [--smoke]

The BENCHMARK.md protocol (``denoise_core.benchmark.evaluate``: unclipped Gaussian noise seeded per
image, non-blind: σ is given to every method that takes one). Beside ours run BM3D (colour BM3D on a colour
set) and the published models: the zoo's files found in ``../shared/reference_weights/kair`` are fetched
from it as a mirror into a temporary cache (never into the project), the other published DnCNN files there
are imported. A model trained for one σ runs at that σ only. Gray sets get the gray models, colour sets the
colour ones. ``--images N`` takes the first N images of each set, ``SET:N`` the first N of that set only (say so when
reporting). Prints one Markdown table of mean PSNR / SSIM per method, set and σ, each method's margin over
BM3D (the numbers of the model cards), then each method's wall time on one 512×512 image (Set12's
first) as a ratio to BM3D's, with the library's thread settings. ``--smoke``: a 64×64 crop of a gray
and of a colour sample image as Set12 and CBSD68, σ 25, one published model and one reference file, one
worker, one timed run.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MIRROR = SHARED / "reference_weights" / "kair"
REFERENCE = {  # published DnCNN files of another release -> the sigmas they were trained for (None: blind)
    "saoyan_dncnn_s_15.pth": (15,), "saoyan_dncnn_s_25.pth": (25,), "saoyan_dncnn_s_50.pth": (50,),
    "saoyan_dncnn_b.pth": None,
}
COLOUR_SETS = ("cbsd68",)


def published(args, limit: int | None = None) -> list[str]:
    """Fetch the zoo models whose files the mirror holds and import the other reference files (the first
    ``limit`` of each); their names."""
    from denoise_core import weights
    from denoise_core.methods import learned
    names = [name for name, p in weights.ZOO.items() if (MIRROR / p.source.filename).is_file()
             and (args.published is None or name in args.published)][:limit]
    for name in names:
        learned.fetch_published(name, mirror=MIRROR)
    for file in list(REFERENCE)[:limit]:
        if args.published is None and (SHARED / "reference_weights" / file).is_file():
            names.append("ref_" + file.removesuffix(".pth"))
            learned.import_weights(SHARED / "reference_weights" / file, names[-1], title=f"{file} (published)")
    return names


def sigmas_of(name: str, args) -> set[int]:
    """The σ a model runs at: the one it was trained for (DnCNN-S, ``ref_*_s_N``), else every σ asked."""
    from denoise_core import weights
    if name.startswith("ref_"):
        fixed = REFERENCE[name.removeprefix("ref_") + ".pth"]
        return set(args.sigmas) & set(fixed) if fixed else set(args.sigmas)
    low, high = weights.get_entry(name).sigma_range or (None, None)
    return {round(low * 255)} & set(args.sigmas) if low is not None and low == high else set(args.sigmas)


def channels_of(name: str) -> int:
    from denoise_core import weights
    return 1 if name.startswith("ref_") else weights.get_entry(name).channels


def _worker() -> None:
    """A spawned worker: the project importable, one torch thread."""
    sys.path.insert(0, str(ROOT))
    import torch
    torch.set_num_threads(1)


def score(job: tuple[str, str, Path, int, int]) -> tuple[float, float]:
    """(PSNR, SSIM) of one method on one image of a set at σ, by the protocol (the image's index is its seed)."""
    from denoise_core.benchmark import measure_case
    from denoise_core.image import read_image
    name, _, path, seed, sigma = job
    scores = measure_case(read_image(path)[0], name, noise="gaussian",
                          noise_params={"sigma": sigma / 255, "clip": False}, seed=seed)[0]
    return scores["psnr"], scores["ssim"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["bsd68", "set12", "cbsd68"])
    parser.add_argument("--sigmas", nargs="+", type=int, default=[15, 25, 50])
    parser.add_argument("--images", type=int, default=0, help="the first N images of each set (0: all)")
    parser.add_argument("--methods", nargs="+", help="our methods (default: every shipped learned Gaussian model)")
    parser.add_argument("--no-bm3d", action="store_true", help="leave BM3D out (it is the slowest)")
    parser.add_argument("--published", nargs="*", help="these zoo models only (default: every one the mirror holds, "
                                                        "and the other reference files)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes, one thread each")
    parser.add_argument("--smoke", action="store_true", help="a 64×64 crop per set, σ 25, one worker")
    args = parser.parse_args()
    os.environ["DENOISE_WORKBENCH_CACHE"] = tempfile.mkdtemp(prefix="reference-weights-")
    sys.path.insert(0, str(ROOT))
    from benchmarks import _smoke
    from denoise_core import weights
    from denoise_core.datasets import image_files
    from denoise_core.methods import learned

    data_root, side, repeats, limit = SHARED / "data", 512, 3, None
    if args.smoke:
        data_root, side, repeats, limit = Path(tempfile.mkdtemp(prefix="smoke-")), _smoke.SIDE, 1, 1
        _smoke.folder("camera", into=data_root / "set12")
        _smoke.folder("astronaut", into=data_root / "cbsd68")
        args.sets, args.sigmas, args.workers = ["set12", "cbsd68"], [25], 1
    ours = args.methods or [name for name, entry in weights.CATALOG.items()
                            if entry.noise == "gaussian" and not entry.modality and name in learned.registered()]
    methods = ours + published(args, limit) + ([] if args.no_bm3d else ["bm3d"])
    files = {}
    for item in args.sets:
        data, _, count = item.partition(":")
        files[data] = image_files(data_root / data)[:int(count or args.images) or None]
    columns = [(data, sigma) for data in files for sigma in args.sigmas]
    cells = [(name, data, sigma) for name in methods for data, sigma in columns
             if name == "bm3d" or ((channels_of(name) == 3) == (data in COLOUR_SETS) and sigma in sigmas_of(name, args))]
    jobs = [(name, data, path, seed, sigma) for name, data, sigma in cells for seed, path in enumerate(files[data])]
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker) as pool:
        rows = list(tqdm(pool.map(score, jobs, chunksize=4), total=len(jobs), desc="images", file=sys.stderr))
    per_cell: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for (name, data, _, _, sigma), row in zip(jobs, rows):
        per_cell.setdefault((name, data, sigma), []).append(row)
    print(f"Images per set: {', '.join(f'{d} {len(f)}' for d, f in files.items())}\n")
    print("| method | " + " | ".join(f"{d} σ{s}" for d, s in columns) + " |")
    print("|---|" + "---|" * len(columns))
    scores: dict[str, dict] = {}
    for name in methods:
        row = []
        for data, sigma in columns:
            if (name, data, sigma) not in per_cell:
                row.append("—")
                continue
            psnr, ssim = np.mean(per_cell[name, data, sigma], axis=0)
            scores.setdefault(name, {})[data, sigma] = psnr
            row.append(f"{psnr:.2f} / {ssim:.4f}")
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)
    if "bm3d" in scores:
        print("\nMargin over BM3D (dB):\n\n| method | " + " | ".join(f"{d} σ{s}" for d, s in columns) + " |")
        print("|---|" + "---|" * len(columns))
        for name, row in scores.items():
            print(f"| {name} | " + " | ".join(f"{row[c] - scores['bm3d'][c]:+.2f}" if c in row else "—"
                                              for c in columns) + " |")
        if any(data not in COLOUR_SETS for data in files):
            speed(list(scores), data_root / "set12", side, repeats)


def speed(methods: list[str], set12: Path, side: int = 512, repeats: int = 3) -> None:
    """Print each gray method's median seconds on Set12's first ``side``² image (σ25, ``repeats`` runs after a
    warm-up) and its ratio to BM3D's."""
    from denoise_core.benchmark import measure_case
    from denoise_core.datasets import image_files
    from denoise_core.image import read_image
    clean = next(image for image in (read_image(f)[0] for f in image_files(set12)) if image.shape[:2] == (side, side))
    print(f"\nSeconds on one {side}×{side} gray image (median of {repeats} after a warm-up):\n\n"
          "| method | seconds | ÷ BM3D |\n|---|---|---|")
    bm3d = None
    for name in ["bm3d"] + [m for m in methods if m != "bm3d" and channels_of(m) == 1]:
        seconds = measure_case(clean, name, noise="gaussian", noise_params={"sigma": 25 / 255, "clip": False},
                               seed=0, repeats=repeats)[1]
        bm3d = bm3d or seconds
        print(f"| {name} | {seconds:.2f} | {seconds / bm3d:.3f} |", flush=True)


if __name__ == "__main__":
    main()
