"""Every benchmark and training script's ``--smoke`` run: a tiny image, one repeat, every step, in seconds.

Most run in this process (``runpy`` with ``sys.argv`` set, one torch thread, temporary files under the
test's folder). Those that fork a process pool run in a child process: a child forked after torch has
started its threads here hangs; so does the reference benchmark, which registers published models for
the whole process.
"""
from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from denoise_core.methods import learned
from denoise_core.image import read_image

ROOT = Path(__file__).resolve().parents[1]
SCORE = r"(\d+\.\d\d) / (0\.\d{4})"
"""A table cell of mean PSNR / SSIM."""


@pytest.fixture
def smoke(monkeypatch, tmp_path, capsys):
    """``smoke(script, *args)``: run ``script --smoke`` in this process; returns its output and its globals."""
    import torch
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("DENOISE_WORKBENCH_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.chdir(ROOT)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def run(script: str, *args: str) -> tuple[str, dict]:
        monkeypatch.setattr(sys, "argv", [str(ROOT / script), "--smoke", *args])
        try:
            names = runpy.run_path(str(ROOT / script), run_name="__main__")
        except SystemExit as done:
            assert done.code in (0, None), capsys.readouterr().err[-2000:]
            names = {}
        return capsys.readouterr().out, names

    yield run
    torch.set_num_threads(threads)


def child(script: str, tmp_path: Path) -> str:
    """The output of ``script --smoke`` run by a fresh interpreter, its temporary files under ``tmp_path``."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "OMP_NUM_THREADS": "1", "DENOISE_WORKBENCH_THREADS": "1"}
    done = subprocess.run([sys.executable, str(ROOT / script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def rows(text: str, pattern: str) -> dict[str, tuple[str, ...]]:
    """The lines of ``text`` matching ``pattern`` (its first group is the row's name): name -> the other groups."""
    return {m.group(1): m.groups()[1:] for m in re.finditer(pattern, text, re.MULTILINE)}


def test_learned_speed_times_every_learned_denoiser_whatever_its_parameters(smoke):
    out, _ = smoke("benchmarks/learned_speed.py")
    assert out.startswith("image 64×64 gray") and "median of 1" in out
    timed = rows(out, r"^(\S.*?)\s+(\d+\.\d{3}) s\s+(\d+\.\d\d) × BM3D(  \(app default\))?$")
    assert list(timed) == ["bm3d", "DnCNN-S (17×64)", *learned.registered()]
    assert all(float(seconds) > 0 and float(ratio) > 0 for seconds, ratio, _ in timed.values())
    assert [name for name, (*_, mark) in timed.items() if mark] == [learned.DEFAULT_GRAY]


def test_app_responsiveness_times_the_page_cold_and_cached(smoke):
    out, _ = smoke("benchmarks/app_responsiveness.py")
    own = rows(out, r"^  (\w+)\s+(\d+\.\d\d) s  (\{.*\})$")
    assert list(own) == ["median"]
    cold, ratio = re.search(r"page, first run: +(\d+\.\d\d) s   ratio (\d+\.\d\d)", out).groups()
    cached = re.search(r"page, same settings again: +(\d+\.\d\d) s", out).group(1)
    assert float(cold) > 0 and float(ratio) > 0 and float(cached) >= 0
    assert "Median filter" in out.split("progress indicator:")[1]


def test_bundle_verify_writes_and_verifies_a_runs_bundle(smoke):
    out, _ = smoke("benchmarks/bundle_verify.py")
    assert re.search(r"^run: 2 images x 2 methods x 1 levels, 8 numbers", out, re.M), out
    sizes = [float(size) for size in re.findall(r"^bundle with(?:out)? output images: (\d+\.\d\d) MB", out, re.M)]
    assert len(sizes) == 2 and sizes[1] > sizes[0] > 0
    assert re.search(r"^verify: 8 of 8 numbers match .*; \d+\.\d s$", out, re.M), out


def test_classifier_accuracy_reports_every_class(smoke):
    out, _ = smoke("benchmarks/classifier_accuracy.py")
    samples = int(re.match(r"(\d+) samples from .+ \(1 per image and class, seed 0\)", out).group(1))
    matrix = rows(out, r"^\| \*\*(\w+)\*\* \|((?: \d+ \|)+) (\d+\.\d)% \|$")
    assert len(matrix) == samples and "clean" in matrix  # one copy of each class
    assert all(sum(map(int, counts.strip(" |").split(" | "))) == 1 for counts, _ in matrix.values())
    assert re.search(r"Overall accuracy: \d+\.\d% \(\d+/" + str(samples) + r"\)", out)


def test_forensics_recovery_reports_every_model_with_and_without_a_reference(smoke):
    out, _ = smoke("benchmarks/forensics_recovery.py")
    table = re.findall(r"^\| (\w+) \| \w+ [\d.]+ \| (clean|none) \| ([\d.]+) \| [^|]+ \| (\d+)% \|$", out, re.MULTILINE)
    assert [(model, ref) for model, ref, *_ in table] == [(m, r) for m in ("gaussian", "poisson", "speckle", "rician",
                                                                           "salt_pepper", "jpeg")
                                                          for r in ("clean", "none")]
    assert all(float(value) > 0 for _, _, value, _ in table)


def test_colour_models_scores_every_method_on_both_sets(smoke):
    out, names = smoke("benchmarks/colour_models.py")
    table = rows(out, rf"^\| (\w+) \| {SCORE} \| {SCORE} \|$")
    assert list(table) == names["METHODS"]
    assert all(10 < float(psnr) < 60 for cells in table.values() for psnr in cells[::2])


def test_hostile_inputs_runs_one_file_through_the_cli_and_the_app(smoke):
    out, _ = smoke("benchmarks/hostile_inputs.py")
    runs = rows(out, r"^gray\.png +(classify|denoise|app upload) +(\d+) +(\d+\.\d\d) +(\d+)  ")
    assert list(runs) == ["classify", "denoise", "app upload"]
    assert all(code == "0" and float(seconds) > 0 and int(peak) > 0 for code, seconds, peak in runs.values())
    totals = rows(out, r"^(CLI|app) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) ")
    assert totals == {"CLI": ("2", "0", "2", "0", "0"), "app": ("1", "0", "1", "0", "0")}


def test_learned_vs_reference_scores_ours_and_the_published_models_against_bm3d(tmp_path):
    out = child("benchmarks/learned_vs_reference.py", tmp_path)
    assert out.startswith("Images per set: set12 1, cbsd68 1")
    main, margins, speed = out.split("\n\n| method |")[1:]
    table = rows(main, r"^\| (\w+) \| (.+) \| (.+) \|$")
    assert learned.DEFAULT_GRAY in table and table["bm3d"][0] != "—" and table["bm3d"][1] != "—"
    assert all(re.fullmatch(SCORE, cell) or cell == "—" for cells in table.values() for cell in cells)
    assert rows(margins, r"^\| (bm3d) \| (.+) \| (.+) \|$") == {"bm3d": ("+0.00", "+0.00")}
    ratios = rows(speed, r"^\| (\w+) \| (\d+\.\d\d) \| (\d+\.\d{3}) \|$")
    assert ratios["bm3d"][1] == "1.000" and learned.DEFAULT_GRAY in ratios
    mirror = ROOT.parent / "shared" / "reference_weights"
    if (mirror / "kair").is_dir():
        assert sum(name.startswith("kair_") for name in table) == 1  # one published model
    if any(mirror.glob("saoyan_*.pth")):
        assert sum(name.startswith("ref_") for name in table) == 1  # one reference file


def test_medical_models_reports_a_modality_and_its_margins(smoke):
    out, _ = smoke("benchmarks/medical_models.py")
    assert re.findall(r"^### (\S+): 1 held-out slices", out, re.MULTILINE) == ["CT"]
    settings = rows(out, rf"^\| (Gaussian σ15|Poisson peak 10|low-dose CT 2e\+03 photons) \| {SCORE} \|")
    assert len(settings) == 3  # the first of each noise
    margins = re.findall(r'^    \("(\w+)", "(\w+)"\): Margin\(([+-]\d+\.\d\d), ', out, re.MULTILINE)
    assert margins and all(model in learned.registered() for model, _, _ in margins)


def test_mismatch_prints_each_sweeps_means_crossovers_and_seconds(smoke):
    out, _ = smoke("benchmarks/mismatch.py")
    lines = re.findall(r"^\| (\w+) \| ((?:\d+\.\d\d \| ){7}\d+\.\d\d \|)$", out, re.MULTILINE)
    assert [method for method, _ in lines] == ["bm3d", "dncnn_gray_blind", "dncnn_s25"]  # 8 levels each
    assert re.search(r"^Crossovers: (none|\w+ overtakes \w+ at )", out, re.MULTILINE)
    assert re.search(r"^Seconds per call \(median\): bm3d \d+\.\d{3}, .*sweep wall time", out, re.MULTILINE)


def test_pipeline_vs_hindsight_compares_the_pipeline_with_the_best_single_denoiser(tmp_path):
    out = child("benchmarks/pipeline_vs_hindsight.py", tmp_path)
    assert re.match(r"1 noisy copies \(1 images of .+, 64² centre crops, seed 0\), \d+ denoisers each", out)
    table = rows(out, r"^\| (\w+) \| (\d+) \| (\d+) \| (-?\d+\.\d\d) \| (-?\d+\.\d\d) \| (-?\d+\.\d\d) \| "
                      r"(-?\d+\.\d\d) \|")
    assert list(table) == ["gaussian", "all"] and table["all"] == table["gaussian"]


def test_scaling_runs_one_and_two_workers_alike(smoke):
    out, names = smoke("benchmarks/scaling.py")
    tasks = len(names["SMOKE"]["methods"])
    assert f"{tasks} image × method tasks, {tasks} rows" in out  # one image, level, seed and metric
    one, many, ratio = re.search(r"1 worker: (\d+\.\d) s   2 workers: (\d+\.\d) s   speed-up: (\d+\.\d\d)×",
                                 out).groups()
    assert float(one) > 0 and float(many) > 0 and float(ratio) > 0


def test_specialists_measures_a_specialist_and_prints_its_margins(tmp_path):
    out = child("benchmarks/specialists.py", tmp_path)
    model = re.search(r"^### (\w+) \(1 images of ", out, re.MULTILINE).group(1)
    assert model in learned.registered()
    assert re.search(rf"^\| .+ \| {SCORE} \| {SCORE} \| \w+: {SCORE} \| {SCORE} \| [+-]\d+\.\d\d dB \|", out,
                     re.MULTILINE)
    assert re.search(rf'^    \("{model}", "\w+"\): Margin\([+-]\d+\.\d\d, ', out, re.MULTILINE)


def test_calibrate_vs_auto_prints_auto_calibrated_and_oracle(smoke):
    out, _ = smoke("benchmarks/calibrate_vs_auto.py")
    found = re.search(r"^\| Gaussian σ25 \| tv \| (\d+\.\d\d) \| (\d+\.\d\d) \| (\d+\.\d\d) \| (\d+\.\d\d) \| "
                      r"([+-]\d+\.\d\d) \| ([+-]\d+\.\d\d) \|", out, re.MULTILINE)
    noisy, auto, calibrated, oracle, gap, gain = map(float, found.groups())
    assert noisy < auto and calibrated <= oracle and gap == pytest.approx(calibrated - oracle, abs=0.011)
    assert oracle - calibrated <= 0.5 and gain == pytest.approx(calibrated - auto, abs=0.011)


def test_tune_auto_scores_every_grid(smoke):
    out, names = smoke("benchmarks/tune_auto.py")
    best = rows(out, r"^(\w+) +σ15: best (\S+) \(\d+\.\d\d dB\)  σ25: best (\S+) .*  \| overall (\S+)$")
    assert list(best) == list(names["GRIDS"])
    assert all(str(value) in map(str, names["GRIDS"][name][1]) for name, values in best.items() for value in values)


def test_pack_training_data_packs_one_crop_per_folder_into_a_temporary_folder(smoke, tmp_path):
    out, _ = smoke("scripts/pack_training_data.py")
    packed = Path(re.search(r"^(\S+): 0\.0 MiB \(with the working tree", out, re.MULTILINE).group(1))
    assert packed.is_relative_to(tmp_path)
    manifest = json.loads((packed / "manifest.json").read_text())
    assert {name: item["images"] for name, item in manifest.items()} == {
        "train400": 1, "cbsd432": 1, "medical/ct": 1, "medical/mri": 1, "medical/xray": 1}
    for name in manifest:
        image = read_image(next((packed / name).iterdir()))[0]
        assert image.shape[:2] == (64, 64) and np.isfinite(image).all()


def test_ship_weights_rewrites_a_temporary_copy_in_float16(smoke, tmp_path):
    out, _ = smoke("scripts/ship_weights.py")
    path, agreement = re.search(r"^(\S+): \d+\.\d MB, sha256 [0-9a-f]{64}; float16 vs float32 output: "
                                r"(\d+\.\d) dB apart", out).groups()
    assert Path(path).is_relative_to(tmp_path) and Path(path).name == f"{learned.DEFAULT_GRAY}.safetensors"
    assert float(agreement) > 40


def test_time_drunet_times_ffdnet_and_every_drunet_configuration(smoke):
    out, names = smoke("scripts/time_drunet.py")
    timed = rows(out, r"^(\S.*?) {2,}([\d,]+) +(\d+\.\d\d)$")
    assert len(timed) == 1 + len(names["CONFIGS"]) and next(iter(timed)).startswith(names["FFDNET"])
    assert all(int(count.replace(",", "")) > 0 for count, _ in timed.values())


@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                    reason="chromium and chromium-driver are not installed (bash scripts/setup.sh --with-browser)")
def test_app_browser_timing_times_each_interaction_in_chromium(tmp_path):
    out = child("benchmarks/app_browser_timing.py", tmp_path)
    times = rows(out, r"^(.+?):\s+(\d+\.\d\d) s   \(target ≤ ([\d.]+) s\)$")
    assert set(times) == {"whole cached rerun", "slider's left panel changed", "slider's right panel changed",
                          "zoomed region moved", "tab switched", "link opened in a new session"}
    assert all(float(seconds) > 0 for seconds, _ in times.values())


def test_classroom_votes_counts_every_vote_once_through_the_store_and_the_page(tmp_path):
    out = child("benchmarks/classroom_votes.py", tmp_path)
    found = rows(out, r"^(store|page): (\d+) votes stored of (\d+) sent once \(none lost, none twice\); (\d+) votes/s")
    assert list(found) == ["store", "page"]
    assert all(stored == sent == "6" and int(rate) > 0 for stored, sent, rate in found.values())  # 2 voters × 3


def test_auto_on_real_noise_prints_old_and_new_auto_per_method(smoke):
    out, _ = smoke("benchmarks/auto_on_real_noise.py")
    table = {m.group(1): (float(m.group(2)), float(m.group(3))) for m in
             re.finditer(r"^\s+100\s+(.+?)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+[+-]\d+\.\d\d\s+[+-]\d+\.\d\d$", out, re.M)}
    assert set(table) == {"noisy", "nlm", "median 3×3"}
    assert table["nlm"][1] > table["nlm"][0]  # the real-noise estimate gains on camera noise
    assert table["median 3×3"][0] == table["median 3×3"][1]  # no level: the same both times


def test_estimate_speed_times_both_estimates_beside_the_median_filter(smoke):
    out, _ = smoke("benchmarks/estimate_speed.py")
    timed = rows(out, r"^  (\w+)\s+(\d+\.\d{4}) s\s+(\d+\.\d\d) × the median filter$")
    assert set(timed) == {"noise_level", "real_noise_level"} and out.count("× the median filter") == 4
