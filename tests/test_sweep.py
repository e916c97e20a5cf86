"""Sweeps: the statistics on constructed data, a method told the wrong σ, the store, the known case of a fixed-σ model,
and the ``sweep`` command."""
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from denoise_core.benchmark import run
from denoise_core.benchmark.mismatch import experiment_configs, experiments, fixed_pair
from denoise_core.benchmark.store import Store
from denoise_core.benchmark.sweep import (ROW_COLUMNS, crossovers, mean_ci, method_entry, paired_test, parse_range,
                                          range_levels, records, run_sweep, summary, sweep_config)
from denoise_core.cli import main
from denoise_core.errors import InvalidParameterError
from denoise_core.paths import SHARED_DATA
from test_benchmark import write_images

SET12 = SHARED_DATA / "set12"
needs_set12 = pytest.mark.skipif(not SET12.is_dir(), reason="../shared/data/set12 is absent")


def rows_of(values: dict[str, list[float]], levels=(0.0,), images=("a", "b", "c", "d")) -> pd.DataFrame:
    """Tidy sweep rows: ``values[method]`` runs over levels, then images (seed 0), one PSNR each."""
    out = []
    for method, numbers in values.items():
        cases = [(level, image) for level in levels for image in images]
        out += [{"image": image, "level": level, "seed": 0, "method": method, "metric": "psnr", "value": value,
                 "seconds": 0.1} for (level, image), value in zip(cases, numbers)]
    return pd.DataFrame(out, columns=ROW_COLUMNS)


def test_mean_ci_is_students_t_interval():
    low, high = mean_ci(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert (low, high) == pytest.approx((1.036757, 4.963243), abs=1e-6)  # 3 ± 2.776445 · 1.581139 / √5
    assert all(math.isnan(v) for v in mean_ci(np.array([7.0])))


def test_summary_gives_mean_ci_and_count_per_method_and_level():
    rows = rows_of({"a": [1, 2, 3, 4, 5, 5, 5, 5], "b": [0, 0, 0, 0, 2, 2, 2, 2]}, levels=(10.0, 20.0))
    means = summary(rows).set_index(["method", "level"])
    assert means.loc[("a", 10.0), "mean"] == 2.5 and means.loc[("a", 20.0), "mean"] == 5.0
    assert means.loc[("a", 10.0), ["ci_low", "ci_high"]].tolist() == pytest.approx([0.445739, 4.554261], abs=1e-6)
    assert means.loc[("a", 20.0), ["ci_low", "ci_high"]].tolist() == [5.0, 5.0]  # no spread: a zero-width band
    assert means["n"].tolist() == [4, 4, 4, 4]


def test_paired_test_on_constructed_differences():
    rows = rows_of({"a": [11, 12, 13, 14], "b": [10, 10, 10, 10]})
    test = paired_test(rows, "a", "b")
    expected = stats.ttest_rel([11, 12, 13, 14], [10, 10, 10, 10])
    assert test["difference"] == 2.5 and test["n"] == 4
    assert test["t"] == pytest.approx(3.872983, abs=1e-6) and test["t"] == pytest.approx(expected.statistic)
    assert test["p"] == pytest.approx(0.030466, abs=1e-6) and test["p"] == pytest.approx(expected.pvalue)
    assert test["significant"] and test["ci_low"] == pytest.approx(0.445739, abs=1e-6)
    unpaired_noise = rows_of({"a": [10, 12, 10, 12], "b": [11, 11, 11, 11]})
    assert not paired_test(unpaired_noise, "a", "b")["significant"]  # mean difference 0, p = 1
    constant = rows_of({"a": [11, 12, 13, 14], "b": [10, 11, 12, 13]})
    assert paired_test(constant, "a", "b")["p"] == 0.0  # the same +1 on every pair
    with pytest.raises(InvalidParameterError, match="fewer than two cases"):
        paired_test(rows_of({"a": [1.0], "b": [2.0]}, images=("a",)), "a", "b")


def test_crossovers_are_interpolated_and_listed_by_level():
    means = pd.DataFrame({"method": ["A"] * 3 + ["B"] * 3 + ["C"] * 3, "level": [0.0, 10.0, 20.0] * 3,
                          "mean": [30, 25, 20, 28, 26, 24, 31, 30, 29]})
    found = crossovers(means)
    assert found[["ahead", "behind", "between"]].values.tolist() == [["B", "A", "0–10"]]
    assert found.loc[0, "level"] == pytest.approx(20 / 3) and found.loc[0, "value"] == pytest.approx(80 / 3)
    means.loc[means["method"] == "C", "mean"] = [32, 27, 21]  # B (+ −4, −1, +3 over C) overtakes C at 12.5
    found = crossovers(means)
    assert found["level"].tolist() == pytest.approx([20 / 3, 12.5]) and found.loc[1, "value"] == pytest.approx(25.5)
    assert found[["ahead", "behind", "between"]].values.tolist() == [["B", "A", "0–10"], ["B", "C", "10–20"]]
    lower_is_better = crossovers(means.assign(mean=-means["mean"]), "mse")
    assert lower_is_better[["ahead", "behind"]].values.tolist() == [["B", "A"], ["B", "C"]]


def test_range_levels_in_the_units_shown():
    assert parse_range("5:75:8") == (5.0, 75.0, 8)
    assert range_levels("gaussian", "sigma", 5, 75, 8) == [5, 15, 25, 35, 45, 55, 65, 75]
    assert range_levels("jpeg", "quality", 10, 50, 4) == [10, 23, 37, 50]  # whole qualities
    for bad in ("5:75", "a:b:3", "5:75:0", "5:5:3", "5:75:2:1"):
        with pytest.raises(InvalidParameterError, match="START:STOP:COUNT|COUNT"):
            parse_range(bad)


def test_a_method_told_a_wrong_sigma_gets_factor_times_the_true_one(tmp_path):
    folder = write_images(tmp_path / "images")
    config = sweep_config(noise="gaussian", levels=[20], methods=["wiener", method_entry("wiener", 0.5)],
                          images=[str(folder)], limit=1)
    table = run(config, workers=0)
    told = {row.method: json.loads(row.params)["sigma"] for row in table[table["metric"] == "psnr"].itertuples()}
    assert told == pytest.approx({"wiener": 20 / 255, "wiener x0.5": 10 / 255}, abs=1e-4)  # the rule rounds
    with pytest.raises(InvalidParameterError, match="takes no noise level"):
        sweep_config(noise="gaussian", levels=[20], methods=[method_entry("dncnn_s25", 2)], images=[str(folder)])
    with pytest.raises(InvalidParameterError, match=r"sigma_factor = 0: expected a number in \(0, 10\]"):
        sweep_config(noise="gaussian", levels=[20], methods=[{"name": "wiener", "sigma_factor": 0}],
                     images=[str(folder)])


def test_a_sweep_reports_progress_and_answers_again_from_the_store(tmp_path):
    folder = write_images(tmp_path / "images")
    config = sweep_config(noise="speckle", levels=[0.02, 0.1], methods=["median", "mean"], images=[str(folder)],
                          seeds=2)
    seen, store = [], Store(tmp_path / "results.sqlite")
    rows = run_sweep(config, store=store, progress=seen.append)
    assert len(rows) == 2 * 2 * 2 * 2 * 2 and list(rows.columns) == ROW_COLUMNS  # images × levels × seeds × methods × metrics
    assert [(p.done, p.running) for p in seen[:2]] == [(0, ("median",)), (1, ("mean",))]
    assert seen[0].seconds_left is None and seen[1].seconds_left > 0 and seen[-1].done == seen[-1].total == 4
    again = run_sweep(config, store=store, progress=seen.append)
    assert again.attrs["run_id"] == rows.attrs["run_id"] and len(seen) == 5  # read back, nothing run
    assert records(again) == records(rows)


@needs_set12
def test_a_fixed_sigma25_model_leads_a_blind_one_only_near_sigma25():
    fixed, blind = fixed_pair()
    config = sweep_config(noise="gaussian", levels=[10, 25, 50], methods=[fixed, blind], images=["set12"], limit=1,
                          max_size=64, metrics=["psnr"])
    means = summary(run_sweep(config)).pivot(index="level", columns="method", values="mean")
    margin = means[fixed] - means[blind]
    assert margin.idxmax() == 25  # measured (dncnn_s25 − dncnn_gray_blind): −2.55, +0.06, −3.09 dB
    assert margin[10] < margin[25] - 1.5 and margin[50] < margin[25] - 1.5 and margin[50] < 0


def test_every_experiment_builds_checked_sweeps(tmp_path):
    folder = write_images(tmp_path / "images")
    built = {key: experiment_configs(key, images=[str(folder)]) for key in experiments()}
    assert [part.noise for part, _ in built["gaussian_on_other"]] == ["poisson", "speckle", "salt_pepper"]
    assert [m["label"] for m in built["fixed_sigma"][0][1]["methods"]] == [*fixed_pair(), "bm3d"]
    assert built["fixed_sigma"][0][1]["noise"][0]["levels"] == [5, 15, 25, 35, 45, 55, 65, 75]
    told = [m.get("sigma_factor", 1.0) for m in built["wrong_sigma"][0][1]["methods"]]
    assert told == [0.5, 0.75, 1.0, 1.5, 2.0, 0.5, 1.0, 2.0]


def sweep_json(capsys, *argv: str) -> list[dict]:
    assert main(["sweep", *argv, "--workers", "0", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["rows"]


def test_cli_sweep_prints_one_row_per_case_and_metric(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_DB", str(tmp_path / "results.sqlite"))
    folder = write_images(tmp_path / "images")
    rows = sweep_json(capsys, "--noise", "gaussian", "--param", "sigma", "--range", "5:75:3", "--methods", "median",
                      "wiener", "--data", str(folder), "--seeds", "2")
    assert len(rows) == 2 * 3 * 2 * 2 * 2 and set(rows[0]) == set(ROW_COLUMNS)
    assert sorted({row["level"] for row in rows}) == [5, 40, 75] and {row["seed"] for row in rows} == {0, 1, 2}
    assert main(["sweep", "--range", "5:75:3", "--methods", "median", "wiener", "--data", str(folder),
                 "--workers", "0"]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0].split() == ROW_COLUMNS and len(printed.out.splitlines()) == 1 + len(rows) // 2  # one seed


@pytest.mark.parametrize("noise, param, spec, levels", [
    ("poisson", "peak", "10:90:2", [10, 90]), ("salt_pepper", "amount", "0.05:0.25:2", [0.05, 0.25]),
    ("speckle", "var", "0.02:0.1:2", [0.02, 0.1]), ("rician", "sigma", "10:40:2", [10, 40]),
    ("jpeg", "quality", "10:50:3", [10, 30, 50])])
def test_cli_sweeps_every_noise_models_level(tmp_path, capsys, monkeypatch, noise, param, spec, levels):
    monkeypatch.setenv("DENOISE_WORKBENCH_DB", str(tmp_path / "results.sqlite"))
    folder = write_images(tmp_path / "images")
    rows = sweep_json(capsys, "--noise", noise, "--param", param, "--range", spec, "--methods", "median",
                      "--data", str(folder), "--limit", "1", "--metrics", "psnr")
    assert [row["level"] for row in rows] == pytest.approx(levels)
    assert all(row["value"] > 5 for row in rows)


@pytest.mark.parametrize("argv, message", [
    (["--range", "5:75", "--methods", "median"], "range '5:75': expected START:STOP:COUNT"),
    (["--range", "5:900:3", "--methods", "median"], "expected a level from 0 to 127.5"),
    (["--range", "5:75:3", "--methods", "nope"], "unknown denoiser 'nope'"),
    (["--range", "5:75:3", "--methods", "median", "--seeds", "0"], "seeds = 0"),
    (["--range", "5:75:3", "--methods", "median", "--param", "strength"], "has no parameter 'strength'"),
    (["--noise", "jpeg", "--range", "0:50:3", "--methods", "median"], "expected a level from 1 to 95"),
    (["--range", "5:75:3", "--methods", "median", "--seeds", "two"], "invalid int value"),
    (["--range", "5:75:3"], "the following arguments are required: --methods")])
def test_cli_sweep_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.setenv("DENOISE_WORKBENCH_DB", str(tmp_path / "results.sqlite"))
    folder = write_images(tmp_path / "images")
    assert main(["sweep", *argv, "--data", str(folder)]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and len(printed.err.splitlines()) == 1 and message in printed.err


def test_cli_sweep_of_a_missing_folder_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_DB", str(tmp_path / "results.sqlite"))
    assert main(["sweep", "--range", "5:75:3", "--methods", "median", "--data", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {tmp_path / 'none'}: no such folder of images"]


def test_the_figure_downloads_as_png_and_svg_with_bands_and_marks():
    import io
    from xml.etree import ElementTree

    from PIL import Image

    from denoise_core.benchmark.charts import OKABE_ITO, band_chart
    lines = {"A": [(0, 30, 29, 31), (10, 25, 24, 26)], "B": [(0, 28, 27, 29), (10, 26, math.nan, math.nan)]}
    labels = {"title": "PSNR against sigma", "x_label": "sigma (/255)", "y_label": "PSNR (dB)"}
    svg = ElementTree.fromstring(band_chart(lines, [(6.67, 26.67)], fmt="svg", **labels))
    tag = "{http://www.w3.org/2000/svg}"
    assert [p.get("stroke") for p in svg.iter(f"{tag}polyline")] == OKABE_ITO[:2]
    assert len(list(svg.iter(f"{tag}polygon"))) == 1  # B's band has a single finite point: none drawn
    assert len(list(svg.iter(f"{tag}path"))) == 1 and "PSNR against sigma" in ElementTree.tostring(svg, "unicode")
    png = Image.open(io.BytesIO(band_chart(lines, [(6.67, 26.67)], **labels)))
    assert png.size == (980, 440) and (0, 114, 178) in {colour for _, colour in png.getcolors(1 << 16)}
