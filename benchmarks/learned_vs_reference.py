"""Our learned denoisers beside BM3D and the published DnCNN weights, on Set12 and BSD68, in one run.

    python benchmarks/learned_vs_reference.py [--sets set12 bsd68] [--sigmas 15 25 50] [--methods NAME ...]

The BENCHMARK.md protocol (``denoise_core.benchmark.evaluate``: unclipped Gaussian noise seeded per
image, non-blind). The published weights in ``../shared/reference_weights`` are imported into a
temporary cache (never into the project) and run at the σ they were trained for, as are our
DnCNN-S models (DnCNN-B and our blind models at every σ). Prints one Markdown table of mean PSNR /
SSIM per method, set and σ, the numbers that go into the model cards.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = {  # file -> the sigmas it was trained for (None: blind)
    "saoyan_dncnn_s_15.pth": (15,), "saoyan_dncnn_s_25.pth": (25,), "saoyan_dncnn_s_50.pth": (50,),
    "saoyan_dncnn_b.pth": None, "kair_dncnn_25.pth": (25,),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["set12", "bsd68"])
    parser.add_argument("--sigmas", nargs="+", type=int, default=[15, 25, 50])
    parser.add_argument("--methods", nargs="+", help="our methods (default: every shipped learned gray Gaussian model)")
    parser.add_argument("--no-bm3d", action="store_true", help="leave BM3D out (it is the slowest)")
    args = parser.parse_args()
    os.environ["DENOISE_WORKBENCH_CACHE"] = tempfile.mkdtemp(prefix="reference-weights-")
    sys.path.insert(0, str(ROOT))
    from denoise_core import learned, registry, weights
    from denoise_core.benchmark import evaluate, image_files, summarise

    def trained_for(name: str) -> set[int]:  # a fixed-σ model (DnCNN-S) runs at its σ only
        low, high = weights.get_entry(name).sigma_range or (None, None)
        return {round(low * 255)} & set(args.sigmas) if low is not None and low == high else set(args.sigmas)

    ours = args.methods or [name for name, entry in weights.CATALOG.items()
                            if entry.noise == "gaussian" and entry.channels == 1 and not entry.modality]
    plan = [(name, trained_for(name)) for name in ours] + ([] if args.no_bm3d else [("bm3d", set(args.sigmas))])
    for file, sigmas in REFERENCE.items():
        if (SHARED / "reference_weights" / file).is_file():
            name = "ref_" + file.removesuffix(".pth")
            learned.import_weights(SHARED / "reference_weights" / file, name, title=f"{file} (published)")
            plan.append((name, set(args.sigmas) if sigmas is None else set(sigmas) & set(args.sigmas)))
    print("| method | " + " | ".join(f"{s} σ{g}" for s in args.sets for g in args.sigmas) + " |")
    print("|---|" + "---|" * (len(args.sets) * len(args.sigmas)))
    for name, sigmas in plan:
        registry.get(name, "denoiser")
        cells = []
        for data in args.sets:
            files = image_files(SHARED / "data" / data)
            for sigma in args.sigmas:
                if sigma not in sigmas:
                    cells.append("—")
                    continue
                rows = list(evaluate(name, files, noise_params={"sigma": sigma / 255, "clip": False}))
                summary = summarise(rows)
                cells.append(f"{summary['psnr']:.2f} / {summary['ssim']:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
