"""The per-modality models beside the natural-image model and BM3D, on held-out medical slices.

    python benchmarks/medical_models.py [--data training_data/medical] [--modalities ct xray mri] [--smoke]

For each modality, the test slices of ``scripts/make_medical_data.py`` (made first when absent; never
used in training) get the BENCHMARK.md protocol's Gaussian noise at σ 15, 25 and 50 (unclipped,
seeded per image, non-blind: every method is given the true σ), Poisson noise at peaks 10 and 50 and
the modality's own noise (both blind: every method gets the level estimated from the noisy image):
low-dose CT at 2·10³, 10⁴ and 10⁵ photons, Poisson–Gaussian X-ray detector noise, Rician MRI noise
at SNR 5 and 10. Prints one Markdown table per modality (mean PSNR / SSIM over the slices) with the
margins over BM3D (the classical route of every pipeline noise type measured here) of the models the
pipeline would put in its place (``pipeline.modality_candidates``), then one ``pipeline.MARGINS``
line per model and noise type: the least margin over that type's settings, to paste into the table.
``--smoke``: the first modality only, a 64×64 crop of its sample image as its one test slice, the
first setting of each noise.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _smoke  # noqa: E402
from denoise_core import pipeline, weights  # noqa: E402
from denoise_core.methods import learned  # noqa: E402
from denoise_core.benchmark import evaluate, summarise  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402

NATURAL = "ffdnet_gray_blind"
CLASSICAL = "bm3d"
MODALITIES = {"ct": "CT", "xray": "X-ray", "mri": "MRI"}
GAUSSIAN = [("gaussian", {"sigma": s / 255, "clip": False}, f"Gaussian σ{s}") for s in (15, 25, 50)]
POISSON = [("poisson", {"peak": p}, f"Poisson peak {p:g}") for p in (10, 50)]
OWN_NOISE = {
    "ct": [("ct_lowdose", {"photons": p}, f"low-dose CT {p:.0e} photons") for p in (2e3, 1e4, 1e5)],
    "xray": [("poisson_gaussian", {"peak": p, "read_sigma": 0.01}, f"X-ray detector peak {p:g}")
             for p in (50, 200, 1000)],
    "mri": [("rician_snr", {"snr": s}, f"Rician SNR {s:g}") for s in (5, 10)],
}
"""Noise models named like a pipeline noise type (gaussian, poisson, ct_lowdose) measure that route."""


def scores(method: str, files: list[Path], noise: str, params: dict) -> tuple[float, float]:
    summary = summarise(list(evaluate(method, files, noise=noise, noise_params=params, blind=noise != "gaussian")))
    return summary["psnr"], summary["ssim"]


def settings(modality: str, limit: int | None = None) -> list[tuple[str, dict, str]]:
    """(noise, parameters, label) of the Gaussian, Poisson and ``modality``'s own noise, the first ``limit`` of
    each."""
    return [setting for group in (GAUSSIAN, POISSON, OWN_NOISE[modality]) for setting in group[:limit]]


def table(modality: str, files: list[Path], noises: list[tuple[str, dict, str]]
          ) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """Print one row per noise: every model of the modality, the natural-image model and BM3D, and the
    margins over BM3D of the models the pipeline would route that noise type to.

    Returns ``{(model, noise type): [(margin in dB, setting label), ...]}`` for the pipeline's noise types.
    """
    name = MODALITIES[modality]
    ours = [n for n, e in weights.CATALOG.items() if e.modality == name and n in learned.registered()]
    methods = ours + [NATURAL, CLASSICAL]
    print(f"\n### {name}: {len(files)} held-out slices ({', '.join(f.stem for f in files)})\n")
    print("| noise | " + " | ".join(methods) + " | margin over " + CLASSICAL + " |")
    print("|---|" + "---|" * (len(methods) + 1))
    margins: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for noise, params, label in noises:
        results = {m: scores(m, files, noise, params) for m in methods}
        cells = [f"{p:.2f} / {s:.4f}" for p, s in results.values()]
        routed = pipeline.modality_candidates(name, noise) if noise in pipeline.ROUTES else []
        for model in routed:
            margins.setdefault((model, noise), []).append((results[model][0] - results[CLASSICAL][0], label))
        margin = ", ".join(f"{m}: {results[m][0] - results[CLASSICAL][0]:+.2f} dB" for m in routed) or "—"
        print(f"| {label} | " + " | ".join(cells) + f" | {margin} |", flush=True)
    return margins


def margin_lines(modality: str, files: list[Path], margins: dict[tuple[str, str], list[tuple[float, str]]]) -> list[str]:
    """``pipeline.MARGINS`` entries: each model's least margin over a noise type's settings."""
    lines = []
    for (model, noise), measured in margins.items():
        settings = ", ".join(label for _, label in measured)
        where = (f"on {len(files)} held-out {MODALITIES[modality]} slices at {settings} "
                 f"(the least; benchmarks/medical_models.py)")
        lines.append(f'    ("{model}", "{noise}"): Margin({min(m for m, _ in measured):+.2f}, "{where}"),')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "training_data" / "medical"))
    parser.add_argument("--modalities", nargs="+", default=list(MODALITIES), choices=list(MODALITIES))
    parser.add_argument("--smoke", action="store_true", help="one modality, a 64×64 crop of its sample image")
    args = parser.parse_args()
    data = Path(args.data)
    if args.smoke:  # the sample images are named like the modalities
        data, args.modalities = Path(tempfile.mkdtemp(prefix="smoke-")), args.modalities[:1]
        _smoke.folder(args.modalities[0], into=data / args.modalities[0] / "test")
    if not data.is_dir():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_medical_data.py"), "--out", str(data)],
                       check=True)
    print("Mean PSNR (dB) / SSIM; Gaussian non-blind (true σ), Poisson and the modality's own noise blind "
          "(estimated level).")
    lines = []
    for modality in args.modalities:
        files = image_files(data / modality / "test")
        noises = settings(modality, 1 if args.smoke else None)
        lines += margin_lines(modality, files, table(modality, files, noises))
    print("\nFor denoise_core/pipeline.py MARGINS (a model takes a route only with a positive margin):\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
