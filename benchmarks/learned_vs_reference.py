"""Our learned denoisers beside BM3D and the published models, gray and colour, in one run.

    python benchmarks/learned_vs_reference.py [--sets bsd68 set12 cbsd68] [--sigmas 15 25 50] [--images N]
                                              [--methods NAME ...] [--no-bm3d]

The BENCHMARK.md protocol (``denoise_core.benchmark.evaluate``: unclipped Gaussian noise seeded per
image, non-blind: σ is given to every method that takes one). Beside ours run BM3D (colour BM3D on a colour
set) and the published models: the zoo's files found in ``../shared/reference_weights/kair`` are fetched
from it as a mirror into a temporary cache (never into the project), the other published DnCNN files there
are imported. A model trained for one σ runs at that σ only. Gray sets get the gray models, colour sets the
colour ones. ``--images N`` takes the first N images of each set (say so when reporting). Prints one
Markdown table of mean PSNR / SSIM per method, set and σ, then each method's margin over BM3D: the numbers
of the model cards.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MIRROR = SHARED / "reference_weights" / "kair"
REFERENCE = {  # published DnCNN files of another release -> the sigmas they were trained for (None: blind)
    "saoyan_dncnn_s_15.pth": (15,), "saoyan_dncnn_s_25.pth": (25,), "saoyan_dncnn_s_50.pth": (50,),
    "saoyan_dncnn_b.pth": None,
}
COLOUR_SETS = ("cbsd68",)


def published(args) -> list[str]:
    """Fetch the zoo models whose files the mirror holds and import the other reference files; their names."""
    from denoise_core import learned, zoo
    names = [name for name, p in zoo.ZOO.items() if (MIRROR / p.source.filename).is_file()]
    for name in names:
        learned.fetch_published(name, mirror=MIRROR)
    for file in REFERENCE:
        if (SHARED / "reference_weights" / file).is_file():
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["bsd68", "set12", "cbsd68"])
    parser.add_argument("--sigmas", nargs="+", type=int, default=[15, 25, 50])
    parser.add_argument("--images", type=int, default=0, help="the first N images of each set (0: all)")
    parser.add_argument("--methods", nargs="+", help="our methods (default: every shipped learned Gaussian model)")
    parser.add_argument("--no-bm3d", action="store_true", help="leave BM3D out (it is the slowest)")
    args = parser.parse_args()
    os.environ["DENOISE_WORKBENCH_CACHE"] = tempfile.mkdtemp(prefix="reference-weights-")
    sys.path.insert(0, str(ROOT))
    from denoise_core import weights
    from denoise_core.benchmark import evaluate, image_files, summarise

    ours = args.methods or [name for name, entry in weights.CATALOG.items()
                            if entry.noise == "gaussian" and not entry.modality]
    methods = ours + published(args) + ([] if args.no_bm3d else ["bm3d"])
    columns = [(data, sigma) for data in args.sets for sigma in args.sigmas]
    files = {data: image_files(SHARED / "data" / data)[:args.images or None] for data in args.sets}
    print(f"Images per set: {', '.join(f'{d} {len(f)}' for d, f in files.items())}\n")
    print("| method | " + " | ".join(f"{d} σ{s}" for d, s in columns) + " |")
    print("|---|" + "---|" * len(columns))
    scores: dict[str, dict] = {}
    for name in methods:
        cells = []
        for data, sigma in columns:
            colour = data in COLOUR_SETS
            if name != "bm3d" and ((channels_of(name) == 3) != colour or sigma not in sigmas_of(name, args)):
                cells.append("—")
                continue
            summary = summarise(list(evaluate(name, files[data], noise_params={"sigma": sigma / 255, "clip": False})))
            scores.setdefault(name, {})[data, sigma] = summary["psnr"]
            cells.append(f"{summary['psnr']:.2f} / {summary['ssim']:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if "bm3d" in scores:
        print("\nMargin over BM3D (dB):\n\n| method | " + " | ".join(f"{d} σ{s}" for d, s in columns) + " |")
        print("|---|" + "---|" * len(columns))
        for name, row in scores.items():
            print(f"| {name} | " + " | ".join(f"{row[c] - scores['bm3d'][c]:+.2f}" if c in row else "—"
                                              for c in columns) + " |")


if __name__ == "__main__":
    main()
