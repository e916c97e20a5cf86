"""How long Denoise & Compare takes compared with the methods it runs (not a unit test).

Setting: the 512×512 sample X-ray, Gaussian noise σ = 25/255 (unclipped, as in
BENCHMARK.md), seed 0, methods median, BM3D, NLM and wavelet with their "auto" parameters.

1. Each method's own run time: ``apply.denoise`` on the same noisy image with the parameters auto
   picks, timed alone (one warm-up call on a small crop first, so imports are not counted).
2. The page, cold: AppTest runs Denoise & Compare with those settings from a link (results not
   cached; the app itself is warm, as a running server is: one earlier run of another setting).
3. The page again with the same settings: everything from the cache.
4. With every result cached: the slider's left panel changed, the zoom tab opened, the zoomed region
   moved, and the page's link opened in a new session (AppTest times the script's run on the server, not the browser's drawing).

Prints the times and ratio page / sum(methods); the targets: ≤ 1.3 for the first run, ≤ 1.5 s for a cached
rerun, ≤ 1 s for a changed panel or region, ≤ 3 s for a link whose results are cached.
``--smoke``: the smallest sample (the 128×128 CT slice) and the first method only.

    python benchmarks/app_responsiveness.py [--threads N] [--smoke]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
METHODS = ("median", "bm3d", "nlm", "wavelet_bayes")
SIGMA = 25 / 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS/OpenMP threads (default: as is)")
    parser.add_argument("--smoke", action="store_true", help="the smallest sample and one method")
    args = parser.parse_args()
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    os.chdir(ROOT)
    os.environ["DENOISE_WORKBENCH_CACHE"] = tempfile.mkdtemp()  # no speed measured before holds the run back

    from streamlit.testing.v1 import AppTest

    from denoise_core import apply, registry, samples
    from denoise_core.estimate import noise_level
    from denoise_core.image import read_image

    name, methods = ("ct", METHODS[:1]) if args.smoke else ("xray", METHODS)
    clean, _ = read_image(samples.sample_path(name), name=name)
    noisy = apply.add_noise(clean, "gaussian", {"sigma": SIGMA, "clip": False}, seed=0)
    level = noise_level(noisy)
    print(f"image: {name} {clean.shape}, gaussian sigma 25/255 unclipped, seed 0; estimated sigma "
          f"{level['sigma'] * 255:.2f}/255; threads: {args.threads or 'default'}; cpus: {os.cpu_count()}")

    own = {}
    for method in methods:
        params = apply.resolve(registry.get(method, "denoiser"), noisy, None, level=level)
        apply.denoise(noisy[:64, :64], method, params, auto=False)  # warm-up: imports, first-call setup
        start = time.perf_counter()
        apply.denoise(noisy, method, params, auto=False)
        own[method] = time.perf_counter() - start
        print(f"  {method:8s} {own[method]:7.2f} s  {params}")
    total = sum(own.values())

    query = {"img": name, "noise": "gaussian", "n.sigma": f"{SIGMA:.6g}", "n.clip": "false", "seed": "0",
             "m": list(methods), **{f"d.{m}": "auto" for m in methods}}

    def page() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
        at.switch_page("pages/2_Denoise_and_Compare.py")
        return at

    warm = page()  # a server is warm: same image, one cheap method
    for key, value in {**query, "m": "median", "d.median": "auto"}.items():
        warm.query_params[key] = value
    warm.run()

    at = page()
    for key, value in query.items():
        at.query_params[key] = value
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].value}")
    labels = [s.label for s in at.status]  # during the run: "Running BM3D (2/4)…"; after: the summary
    lines = [m.value for m in at.markdown if m.value.startswith("✓")]
    start = time.perf_counter()
    at.run()
    cached = time.perf_counter() - start
    table = at.dataframe[0].value  # the metrics tab, open by default

    def open_zoom_tab():
        at.session_state["w.cmp.tab"] = "Zoomed grid"  # as a click on the tab sets it
        at.run()

    interactions = {
        "slider's left panel changed": lambda: at.selectbox(key="w.cmp.left").set_value("Clean").run(),
        "tab switched (zoomed grid)": open_zoom_tab,
        "zoomed region moved": lambda: at.slider(key="w.cmp.zx").set_value(at.slider(key="w.cmp.zx").value // 2).run(),
        "shared link opened (new session)": lambda: linked().run(),
    }

    def linked() -> AppTest:
        fresh = page()
        for key, value in {**query, **{k: v for k, v in at.query_params.items() if k not in query}}.items():
            fresh.query_params[key] = value
        return fresh

    timings = {}
    for label, act in interactions.items():
        start = time.perf_counter()
        act()
        timings[label] = time.perf_counter() - start

    print(f"{'sum of the methods own times:':34s}{total:7.2f} s")
    print(f"{'page, first run:':34s}{cold:7.2f} s   ratio {cold / total:.2f} (target ≤ 1.30)")
    print(f"{'page, same settings again:':34s}{cached:7.2f} s   (target ≤ 1.5 s, from the cache)")
    for (label, seconds), target in zip(timings.items(), (1.0, 1.0, 1.0, 3.0)):
        print(f"{label + ':':34s}{seconds:7.2f} s   (target ≤ {target:g} s)")
    print(f"progress indicator: {labels[0] if labels else 'status element not found'}; {'; '.join(lines)}")
    print(table.drop(columns=["parameters"], errors="ignore").round(4).to_string())


if __name__ == "__main__":
    main()
