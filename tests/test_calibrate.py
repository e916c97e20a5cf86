"""Self-supervised calibration: what it tunes, how close it gets to the oracle, and the ``calibrate`` command."""
import json

import numpy as np
import pytest
from PIL import Image

from denoise_core import add_noise, registry
from denoise_core.calibrate import MASKS, STRIDE, calibrate, grid, masked, tuned_params, values
from denoise_core.cli import main
from denoise_core.errors import InvalidImageError, InvalidParameterError
from denoise_core.image import read_image
from denoise_core.metrics import psnr
from denoise_core.paths import SHARED_DATA
from denoise_core.samples import load_sample

SET12 = SHARED_DATA / "set12"


def centre(image: np.ndarray, side: int = 128) -> np.ndarray:
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return np.ascontiguousarray(image[top:top + side, left:left + side])


def denoiser(name: str) -> registry.Method:
    return registry.get(name, "denoiser")


def test_the_schema_and_the_auto_rule_say_what_is_tuned():
    names = {m: [p.name for p in tuned_params(denoiser(m))] for m in
             ("nlm", "tv", "bilateral", "wavelet_bayes", "wavelet_visu", "median", "anisotropic", "switching_mean")}
    assert names == {"nlm": ["h"], "tv": ["weight"], "bilateral": ["sigma_color", "sigma_space"],
                     "wavelet_bayes": ["sigma"], "wavelet_visu": ["scale"], "median": ["size"],
                     "anisotropic": ["kappa"], "switching_mean": ["max_size"]}
    with pytest.raises(InvalidParameterError, match="nothing|no parameter to tune"):
        tuned_params(denoiser("dncnn_s25"))


def test_the_grid_spans_each_range_log_spaced_and_stays_small():
    h = values(denoiser("nlm").param("h"), 12)
    assert h[0] == 0.001 and h[-1] == 1.0 and np.allclose(np.diff(np.log(h)), np.log(1000) / 11, rtol=1e-3)
    assert values(denoiser("median").param("size"), 12) == [3, 5, 7, 9, 11, 13, 15]
    assert len(grid(denoiser("nlm"))) == 12 and len(grid(denoiser("bilateral"))) == 18
    assert {p["sigma_space"] for p in grid(denoiser("bilateral"))} == {0.5, 2.236, 10.0}


def test_a_mask_hides_one_pixel_in_sixteen_behind_its_neighbours_mean():
    image = np.random.default_rng(0).random((16, 16), dtype=np.float32)
    out, where = masked(image, (2, 2))
    changed = out != image
    assert changed.sum() == 16 and changed[where].all()
    assert out[2, 2] == pytest.approx((image[1, 2] + image[3, 2] + image[2, 1] + image[2, 3]) / 4, rel=1e-6)
    assert STRIDE == 4 and len(MASKS) == 2


@pytest.mark.skipif(not SET12.is_dir(), reason="../shared/data/set12 is not here")
def test_calibrated_nlm_comes_within_half_a_db_of_the_oracle_at_sigma_25_on_set12():
    gaps = []
    for name, seed in (("01.png", 0), ("05.png", 4)):  # protocol seeds: the image's place in sorted order
        clean = centre(read_image(SET12 / name)[0])
        noisy = add_noise(clean, "gaussian", {"sigma": 25 / 255}, seed=seed)
        found = calibrate(noisy, "nlm", clean=clean)
        assert found.chosen_psnr - psnr(clean, noisy) >= 5.0  # 21.09 -> 26.92 and 20.34 -> 26.71 dB measured
        gaps.append(found.oracle_psnr - found.chosen_psnr)
    assert 0 <= max(gaps) <= 0.5, gaps  # measured: 0.00 and 0.08 dB


def test_calibrated_nlm_comes_within_half_a_db_of_the_oracle_on_a_shipped_sample():
    clean = centre(load_sample("camera")[0])
    noisy = add_noise(clean, "gaussian", {"sigma": 25 / 255}, seed=0)
    found = calibrate(noisy, "nlm", clean=clean)
    assert found.oracle_psnr - found.chosen_psnr <= 0.5  # 28.36 vs 28.45 dB measured
    assert found.chosen_psnr >= psnr(clean, noisy) + 6.0  # from 21.16 dB
    assert found.oracle_psnr >= found.auto_psnr  # the auto point is on the grid
    assert psnr(clean, found.image) == pytest.approx(found.chosen_psnr)
    blind = calibrate(noisy, "nlm")  # the reference adds points around the oracle but never changes the choice
    assert blind.chosen == found.chosen and blind.oracle is None and "psnr" not in blind.grid[0]


def test_on_salt_and_pepper_calibration_rescues_an_auto_rule_fooled_by_the_estimate():
    clean = centre(load_sample("camera")[0])
    noisy = add_noise(clean, "salt_pepper", {"amount": 0.2}, seed=0)
    found = calibrate(noisy, "tv", clean=clean)
    assert found.chosen["weight"] > 30 * found.auto["weight"]
    assert found.chosen_psnr - found.auto_psnr >= 5.0  # 19.34 vs 11.37 dB measured


def test_progress_counts_up_and_cancel_stops_with_nothing():
    noisy = add_noise(centre(load_sample("camera")[0], 64), "gaussian", {"sigma": 0.1}, seed=0)
    seen = []
    assert calibrate(noisy, "gaussian", progress=lambda done, total: seen.append((done, total)),
                     cancel=lambda: len(seen) >= 3) is None
    assert [done for done, _ in seen] == [1, 2, 3]
    found = calibrate(noisy, "gaussian", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] and len(found.grid) >= 12


def test_a_reference_of_another_shape_is_refused():
    noisy = add_noise(centre(load_sample("camera")[0], 64), "gaussian", {"sigma": 0.1}, seed=0)
    with pytest.raises(InvalidImageError, match="reference"):
        calibrate(noisy, "tv", clean=noisy[:32])


# --- the command line ---------------------------------------------------------------------------

@pytest.fixture
def pair(tmp_path):
    """(noisy PNG, clean PNG): a 64×64 crop of the camera sample with Gaussian noise σ 25/255."""
    clean = centre(load_sample("camera")[0], 64)
    noisy = np.clip(add_noise(clean, "gaussian", {"sigma": 25 / 255}, seed=0), 0, 1)
    paths = tmp_path / "noisy.png", tmp_path / "clean.png"
    for path, image in zip(paths, (noisy, clean)):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)
    return paths


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_json_holds_the_choice_the_grid_and_with_a_reference_the_psnr_and_the_oracle(pair, capsys):
    code, out, _ = run_cli(capsys, "calibrate", pair[0], "--method", "tv", "--clean", pair[1], "--json")
    assert code == 0
    record = json.loads(out)
    grid_rows = record["grid"]
    assert record["tuned"] == ["weight"] and len(grid_rows) >= 12
    assert all({"weight", "loss", "psnr", "stage"} <= set(row) for row in grid_rows)
    searched = [row for row in grid_rows if row["stage"] != "oracle"]
    assert record["chosen"]["weight"] == min(searched, key=lambda row: row["loss"])["weight"]
    best = max(grid_rows, key=lambda row: row["psnr"])
    assert record["oracle"] == {"weight": best["weight"]} and record["oracle_psnr"] == best["psnr"]
    assert record["chosen_psnr"] >= record["oracle_psnr"] - 0.5 and "auto_psnr" in record

    code, out, _ = run_cli(capsys, "calibrate", pair[0], "--method", "tv", "--json")
    blind = json.loads(out)
    assert code == 0 and blind["chosen"] == record["chosen"]
    assert "oracle" not in blind and all("psnr" not in row for row in blind["grid"])


def test_the_text_output_lists_every_point_and_the_choice(pair, capsys):
    code, out, _ = run_cli(capsys, "calibrate", pair[0], "--method", "median", "--clean", pair[1])
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:8]] == [f"size={s}" for s in (3, 5, 7, 9, 11, 13, 15)]
    assert lines[-2].startswith("chosen (least self-supervised loss): {") and "oracle size=" in lines[-1]


@pytest.mark.parametrize("argv, message", [
    (["--method", "nope"], "unknown denoiser 'nope'"),
    (["--method", "dncnn_s25"], "no parameter to tune"),
    (["--method", "tv", "--clean", "{missing}"], "missing.png"),
    (["--method", "tv", "--clean", "{small}"], "the clean reference is (32, 32)"),
])
def test_bad_input_is_one_line_and_exit_code_2(pair, tmp_path, capsys, argv, message):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(small)
    argv = [a.format(missing=tmp_path / "missing.png", small=small) for a in argv]
    code, out, err = run_cli(capsys, "calibrate", pair[0], *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_an_unreadable_noisy_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "noisy.png"
    bad.write_bytes(b"not an image")
    code, _, err = run_cli(capsys, "calibrate", bad, "--method", "tv")
    assert code == 2 and err.count("\n") == 1 and "noisy.png" in err
