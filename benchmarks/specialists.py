"""The noise-specialist models against every classical denoiser, on Set12 or a held-apart set.

    python benchmarks/specialists.py [--data ../shared/data/set12] [--images N] [--models ffdnet_mixed ...]
                                     [--workers 2] [--smoke]

For each specialist (a learned model catalogued for one noise type, and any other type the pipeline
routes to it) and each of those types' test settings, every image gets that noise (seeded per
image, as in BENCHMARK.md) and is denoised blind: the specialist, every classical denoiser with its ``auto`` parameters (the level estimated from the
noisy image) and the pipeline's classical route for that noise type (its rule table, e.g. switching
mean then BM3D for mixed noise). ``--images N`` takes N images spread over the sorted set (as
``benchmarks/pipeline_vs_hindsight.py`` does), each keeping its seed. Prints mean PSNR / SSIM as
Markdown and the specialist's margins over the best classical result and over the classical route (the
numbers of the model cards), then one ``pipeline.MARGINS`` line per noise type the pipeline routes to
it: the least margin over the classical route across that type's settings. Set12 chose the routes;
BSD68 (``--data ../shared/data/bsd68 --images 12``) is held apart from that choice and from training.
``--smoke``: a specialist of one noise type on a 64×64 crop of a sample image, that type's first setting,
one worker.
"""
from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _smoke  # noqa: E402
from denoise_core import denoise, pipeline, registry, weights  # noqa: E402
from denoise_core.methods import learned  # noqa: E402
from denoise_core.benchmark import noisy_protocol  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402
from denoise_core.image import read_image  # noqa: E402
from denoise_core.metrics import measure  # noqa: E402

SETTINGS = {
    "salt_pepper": [("salt_pepper", {"amount": a}, f"salt & pepper {a:.0%}") for a in (0.05, 0.2)],
    "speckle": [("speckle", {"var": v}, f"speckle var {v:g}") for v in (0.02, 0.08)],
    "poisson": [("poisson", {"peak": p}, f"Poisson peak {p:g}") for p in (10, 50)],
    "mixed": [("mixed", {"strength": 0.5}, "mixed, strength 0.5")],
    "scribbles": [("scribbles", {"count": 8, "thickness": 2}, "scribbles, 8 strokes")],
}
"""Per noise type: (noise model, parameters, label) of its tests."""
TRAINED_ALSO = {"mixed": ("scribbles",)}
"""Types a specialist learned besides the one it is catalogued for (``scripts/train_shipped.sh``)."""
ROUTE = "classical route"


def classical() -> list[str]:
    return [name for name in registry.names("denoiser") if name not in learned.registered()]


def specialists() -> list[str]:
    return [name for name, entry in weights.CATALOG.items()
            if entry.noise in SETTINGS and entry.modality is None and name in learned.registered()]


def noise_types(model: str) -> list[str]:
    """The types ``model`` was trained for, then those the pipeline routes to it."""
    trained = weights.CATALOG[model].noise
    routed = [kind for kind, rule in pipeline.ROUTES.items() if rule.specialist == model]
    return list(dict.fromkeys([trained, *TRAINED_ALSO.get(trained, ()), *routed]))


def score(job: tuple[str, Path, int, str, dict, str]) -> dict[str, tuple[float, float]]:
    """PSNR and SSIM of the specialist, every classical denoiser and the classical route on one image."""
    model, path, seed, noise, params, route_type = job
    clean, _ = read_image(path)
    noisy = noisy_protocol(clean, noise, params, seed)
    outputs = {"noisy": noisy, model: denoise(noisy, model)}
    outputs.update({method: denoise(noisy, method) for method in classical()})
    outputs[ROUTE] = pipeline.run(noisy, noise_type=route_type, denoisers=list(pipeline.ROUTES[route_type].steps)).image
    return {name: tuple(measure(clean, out, ["psnr", "ssim"]).values()) for name, out in outputs.items()}


def spread(files: list[Path], count: int | None) -> list[tuple[int, Path]]:
    """``count`` of ``files`` spread evenly over the sorted set (all when None), with their protocol seeds."""
    if count is None or count >= len(files):
        return list(enumerate(files))
    return [(int(i), files[i]) for i in np.linspace(0, len(files) - 1, count).astype(int)]


def report(model: str, images: list[tuple[int, Path]], where: str, workers: int,
           limit: int | None = None) -> list[str]:
    """Print the specialist's table (the first ``limit`` settings of each noise type); return its
    ``pipeline.MARGINS`` lines for the types routed to it."""
    print(f"\n### {model} ({where})\n")
    print("| noise | noisy | **" + model + "** | best classical | " + ROUTE + " | margin over best classical | "
          "margin over " + ROUTE + " |")
    print("|---|---|---|---|---|---|---|")
    margins: dict[str, list[tuple[float, str]]] = {}
    tests = ((kind, setting) for kind in noise_types(model) for setting in SETTINGS[kind][:limit])
    for noise_type, (noise, params, label) in tests:
        jobs = [(model, path, seed, noise, params, noise_type) for seed, path in images]
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(score, jobs))
        means = {name: tuple(np.mean([row[name] for row in rows], axis=0)) for name in rows[0]}
        best = max((name for name in means if name not in ("noisy", model)), key=lambda n: means[n][0])
        cell = lambda name: f"{means[name][0]:.2f} / {means[name][1]:.4f}"  # noqa: E731
        over_route = means[model][0] - means[ROUTE][0]
        margins.setdefault(noise_type, []).append((over_route, label))
        print(f"| {label} | {cell('noisy')} | {cell(model)} | {best}: {cell(best)} | {cell(ROUTE)} | "
              f"{means[model][0] - means[best][0]:+.2f} dB | {over_route:+.2f} dB |", flush=True)
    return [f'    ("{model}", "{kind}"): Margin({min(m for m, _ in measured):+.2f}, "on {where} at '
            f'{", ".join(label for _, label in measured)} (the least; benchmarks/specialists.py)"),'
            for kind, measured in margins.items() if pipeline.ROUTES[kind].specialist == model]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "set12"))
    parser.add_argument("--images", type=int, default=None, help="images spread over the set (default: all)")
    parser.add_argument("--models", nargs="+", default=None, help="specialists to measure (default: all present)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--smoke", action="store_true", help="one specialist and setting, a 64×64 sample crop")
    args = parser.parse_args()
    if args.smoke:
        args.data, args.images, args.workers = str(_smoke.folder("camera")), 1, 1
        args.models = args.models or [min(specialists(), key=lambda model: len(noise_types(model)))]
    if not Path(args.data).is_dir():
        print(f"{args.data}: folder not found; nothing to evaluate")
        return 0
    models = args.models or specialists()
    unknown = sorted(set(models) - set(specialists()))
    if unknown:
        print(f"not a present specialist: {', '.join(unknown)} (present: {', '.join(specialists()) or 'none'})")
        return 2
    if args.images is not None and args.images < 1:
        print(f"--images {args.images}: give at least 1")
        return 2
    images = spread(image_files(args.data), args.images)
    where = f"{len(images)} images of {Path(args.data).name}"
    print("Mean PSNR (dB) / SSIM, blind: every method gets the level estimated from the noisy image.")
    limit = 1 if args.smoke else None
    lines = [line for model in models for line in report(model, images, where, args.workers, limit)]
    print("\nFor denoise_core/pipeline.py MARGINS (a model takes a route only with a positive margin):\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
