"""Every file of the hostile corpus (tests/hostile_corpus.py, bombs written in full) in a fresh process:
the CLI's ``classify`` and ``denoise --method median``, and the Home page's upload box (streamlit's
AppTest), each timed and measured (peak resident memory of the whole child process).

    python benchmarks/hostile_inputs.py [--keep FOLDER] [--smoke]

Prints one row per file and command, then the table: files tried, refused with one line, processed,
tracebacks, worst memory and time, for the CLI and the app. ``--smoke``: one good file of the corpus.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile_corpus  # noqa: E402

UPLOAD = """import sys
from pathlib import Path
from streamlit.testing.v1 import AppTest
path = Path(sys.argv[1])
at = AppTest.from_file("app.py", default_timeout=600).run()
at.file_uploader(key="w.upload").set_value((path.name, path.read_bytes(), "application/octet-stream")).run()
if at.exception:
    print("Traceback (uncaught in the app):", at.exception[0].message, file=sys.stderr)
    sys.exit(1)
for error in at.error:
    print("error:", error.value, file=sys.stderr)
sys.exit(2 if at.error else 0)
"""


def _runs(path: Path, out: Path) -> dict[str, list[str]]:
    return {"classify": [sys.executable, "-m", "denoise_core", "classify", str(path)],
            "denoise": [sys.executable, "-m", "denoise_core", "denoise", str(path), str(out), "--method", "median"],
            "app upload": [sys.executable, "-c", UPLOAD, str(path)]}


def _measure_one(argv: list[str]) -> tuple[int, str, float, float]:
    """Run ``argv`` through a fresh intermediate process, so RUSAGE_CHILDREN is that one child's peak."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
             "sys.stdout.write(f'{p.returncode} {time.perf_counter() - t:.3f} "
             "{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}\\n'); sys.stdout.write(p.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    first, _, err = done.stdout.partition("\n")
    code, seconds, peak = first.split()
    return int(code), err, float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="write the corpus here and keep it (default: a temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="one good file of the corpus")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(args.keep or temp)
        corpus = hostile_corpus.build(folder, full=not args.smoke)
        if args.smoke:
            corpus = {"gray.png": corpus["gray.png"]}
        else:
            largest = folder / "largest_accepted_4000x3000_rgb.png"  # at MAX_PIXELS, 8-bit RGB
            largest.write_bytes(hostile_corpus.png_bomb(4000, 3000, 8, 2, 3, True))
            corpus[largest.name] = (largest, "ok")
        totals = {side: {"tried": 0, "refused": 0, "processed": 0, "tracebacks": 0, "other": 0,
                         "worst_mb": 0.0, "worst_s": 0.0, "worst_refusal_s": 0.0} for side in ("CLI", "app")}
        print(f"{'file':34} {'run':10} {'exit':>4} {'seconds':>8} {'peak MB':>8}  first line")
        for name, (path, _) in corpus.items():
            size = path.stat().st_size if path.is_file() else 0
            for run, argv in _runs(path, folder / "out.png").items():
                if run == "app upload" and not path.is_file():
                    continue  # a browser uploads a file's bytes: never a device such as /dev/zero
                code, err, seconds, peak = _measure_one(argv)
                side = totals["app" if run == "app upload" else "CLI"]
                side["tried"] += 1
                lines = [line for line in err.strip().splitlines() if " WARNING streamlit" not in line]
                if "Traceback" in err:
                    side["tracebacks"] += 1
                elif code == 0:
                    side["processed"] += 1
                elif code == 2 and len(lines) == 1:
                    side["refused"] += 1
                    side["worst_refusal_s"] = max(side["worst_refusal_s"], seconds)
                else:
                    side["other"] += 1
                side["worst_mb"], side["worst_s"] = max(side["worst_mb"], peak), max(side["worst_s"], seconds)
                shown = (lines[0] if lines else "")[:90]
                print(f"{ascii(name)[1:-1][:34]:34} {run:10} {code:4} {seconds:8.2f} {peak:8.0f}  "
                      f"{size / 1e3:.0f} kB; {shown}")
        print()
        print(f"{'':4} {'files tried':>11} {'refused, 1 line':>15} {'processed':>9} {'tracebacks':>10} "
              f"{'other':>5} {'worst peak RSS':>14} {'worst time':>10} {'worst refusal':>13}")
        for side, t in totals.items():
            print(f"{side:4} {t['tried']:11} {t['refused']:15} {t['processed']:9} {t['tracebacks']:10} "
                  f"{t['other']:5} {t['worst_mb']:11.0f} MB {t['worst_s']:8.1f} s {t['worst_refusal_s']:11.1f} s")


if __name__ == "__main__":
    main()
