"""The per-modality models beside the natural-image model and BM3D, on held-out medical slices.

    python benchmarks/medical_models.py [--data training_data/medical] [--modalities ct xray mri]

For each modality, the test slices of ``scripts/make_medical_data.py`` (made first when absent; never
used in training) get the BENCHMARK.md protocol's Gaussian noise at σ 15, 25 and 50 (unclipped,
seeded per image, non-blind: every method is given the true σ) and the modality's own noise (blind:
every method gets the level estimated from the noisy image): low-dose CT at 2·10³, 10⁴ and 10⁵
photons, Poisson–Gaussian X-ray detector noise, Rician MRI noise at SNR 5 and 10. Prints one
Markdown table per modality (mean PSNR / SSIM over the slices) and the margin of the modality's
model for that noise (its Gaussian model where it has no other) over the natural-image model and
over BM3D: the numbers of the model cards.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoise_core import learned, weights  # noqa: E402
from denoise_core.benchmark import evaluate, image_files, summarise  # noqa: E402

NATURAL = "ffdnet_gray_blind"
MODALITIES = {"ct": "CT", "xray": "X-ray", "mri": "MRI"}
GAUSSIAN = [("gaussian", {"sigma": s / 255, "clip": False}, f"Gaussian σ{s}") for s in (15, 25, 50)]
OWN_NOISE = {
    "ct": [("ct_lowdose", {"photons": p}, f"low-dose CT {p:.0e} photons") for p in (2e3, 1e4, 1e5)],
    "xray": [("poisson_gaussian", {"peak": p, "read_sigma": 0.01}, f"X-ray detector peak {p:g}")
             for p in (50, 200, 1000)],
    "mri": [("rician_snr", {"snr": s}, f"Rician SNR {s:g}") for s in (5, 10)],
}


def scores(method: str, files: list[Path], noise: str, params: dict) -> tuple[float, float]:
    summary = summarise(list(evaluate(method, files, noise=noise, noise_params=params, blind=noise != "gaussian")))
    return summary["psnr"], summary["ssim"]


def table(modality: str, files: list[Path]) -> None:
    """One row per noise: every model of the modality, the natural-image model and BM3D, and the margins
    of the modality's model for that noise (its Gaussian model when it has none for it)."""
    name = MODALITIES[modality]
    ours = [n for n, e in weights.CATALOG.items() if e.modality == name and n in learned.registered()]
    methods = ours + [NATURAL, "bm3d"]
    print(f"\n### {name}: {len(files)} held-out slices ({', '.join(f.stem for f in files)})\n")
    print("| noise | " + " | ".join(methods) + " | margin over " + NATURAL + " | margin over bm3d |")
    print("|---|" + "---|" * (len(methods) + 2))
    for noise, params, label in GAUSSIAN + OWN_NOISE[modality]:
        results = {m: scores(m, files, noise, params) for m in methods}
        cells = [f"{p:.2f} / {s:.4f}" for p, s in results.values()]
        model = learned.modality_model(name, noise) or learned.modality_model(name)
        margins = [f"{model}: {results[model][0] - results[other][0]:+.2f} dB" if model else "—"
                   for other in (NATURAL, "bm3d")]
        print(f"| {label} | " + " | ".join(cells + margins) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "training_data" / "medical"))
    parser.add_argument("--modalities", nargs="+", default=list(MODALITIES), choices=list(MODALITIES))
    args = parser.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_medical_data.py"), "--out", str(data)],
                       check=True)
    print("Mean PSNR (dB) / SSIM; Gaussian non-blind (true σ), the modality's own noise blind (estimated level).")
    for modality in args.modalities:
        table(modality, image_files(data / modality / "test"))


if __name__ == "__main__":
    main()
