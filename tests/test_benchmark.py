"""The benchmark runner: configs, image sources, the protocol shared with ``eval``, failures, Dask."""
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from denoise_core import metrics, registry
from denoise_core.methods import learned
from denoise_core.benchmark import (COLUMNS, checked_folder, leaderboard, load_config, measure_case, paper_table, run,
                                    run_images, tasks, time_quality)
from denoise_core.benchmark.store import Store
from denoise_core.cli import main
from denoise_core.datasets import image_files
from denoise_core.errors import DenoiseError, InvalidImageError
from denoise_core.image import read_image
from denoise_core.paths import image_roots

ROOT = Path(__file__).resolve().parents[1]
SET12 = ROOT.parent / "shared" / "data" / "set12"
FAST = ["median", "gaussian", "mean"]


def write_images(folder: Path, sizes=((40, 48), (48, 40))) -> Path:
    """Small gray test images named a.png, b.png, ... (sorted order = seed order)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, (height, width) in enumerate(sizes):
        y, x = np.mgrid[:height, :width]
        image = 127 + 90 * np.sin((x + 7 * number) / 5.0) * np.cos(y / 7.0)
        Image.fromarray(image.astype(np.uint8)).save(folder / f"{chr(97 + number)}.png")
    return folder


@pytest.fixture
def images(tmp_path) -> Path:
    return write_images(tmp_path / "images")


def small_config(folder: Path, **changes) -> dict:
    config = {"name": "small", "images": [str(folder)], "methods": ["median", "mean"],
              "noise": [{"model": "gaussian", "levels": [15, 50], "scale": 255}]}
    return {**config, **changes}


def eval_rows(capsys, folder: Path, method: str, sigma: int, *options: str) -> list[dict]:
    assert main(["eval", "--method", method, "--data", str(folder), "--sigma", str(sigma), "--json", *options]) == 0
    return json.loads(capsys.readouterr().out)["rows"]


def assert_same_numbers(first: pd.DataFrame, second: pd.DataFrame) -> None:
    """Equal tables but for the timings (which differ from run to run)."""
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))


@pytest.mark.parametrize("method", ["gaussian", "median"])
def test_bench_reproduces_eval_row_for_row(tmp_path, capsys, images, method):
    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump({"images": [str(images)], "methods": [method]}))  # the protocol: σ 15/25/50
    assert main(["bench", str(config), "--workers", "0", "--db", str(tmp_path / "r.sqlite"), "--out",
                 str(tmp_path / "rows.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 2 * 3 * 2  # images × levels × metrics
    table = pd.read_csv(tmp_path / "rows.csv")
    assert sorted(table["level"].unique()) == [15, 25, 50]
    for sigma in (15, 25, 50):
        for row in eval_rows(capsys, images, method, sigma):
            mine = table[(table["image"] == row["image"]) & (table["level"] == sigma)].set_index("metric")
            assert (mine["seed"] == row["seed"]).all()
            assert mine.loc["psnr", "value"] == row["psnr"] and mine.loc["ssim", "value"] == row["ssim"]
            assert json.loads(mine.loc["psnr", "params"]) == row["params"]
            assert json.loads(mine.loc["psnr", "noise_params"]) == {"sigma": sigma / 255, "clip": False}


@pytest.mark.skipif(not SET12.is_dir(), reason="../shared/data/set12 is absent")
@pytest.mark.parametrize("method", ["median", learned.DEFAULT_GRAY])
def test_bench_reproduces_eval_on_set12_at_the_three_sigmas(capsys, method):
    table = run({"images": ["set12"], "limit": 2, "methods": [method]}, workers=0)  # the protocol: σ 15/25/50
    psnr = table[table["metric"] == "psnr"]
    for sigma in (15, 25, 50):
        rows = eval_rows(capsys, SET12, method, sigma, "--limit", "2")
        mine = psnr[psnr["level"] == sigma]
        assert mine["image"].tolist() == [r["image"] for r in rows] == ["01.png", "02.png"]
        assert mine["value"].tolist() == [r["psnr"] for r in rows]


def test_family_entries_list_the_registered_denoisers():
    classical = [m.name for m in registry.methods("denoiser") if m.family == "classical"]
    config = load_config({"methods": [{"family": "classical"}, {"family": "no_such_family"}]})
    assert [m["name"] for m in config["methods"]] == classical and {"median", "bm3d"} <= set(classical)
    assert config["methods"][0]["params"] == {}  # auto
    with pytest.raises(DenoiseError, match="families have no registered denoiser"):
        load_config({"methods": [{"family": "no_such_family"}]})


def test_config_defaults_are_the_protocol():
    config = load_config({"methods": ["median"]})
    assert config["images"] == [{"set": "set12", "group": "set12"}]
    assert config["noise"] == [{"model": "gaussian", "param": "sigma", "levels": [15.0, 25.0, 50.0], "scale": 255,
                                "params": {}}]
    assert config["metrics"] == ["psnr", "ssim"] and config["seeds"] == [0] and config["blind"] is False
    assert config["methods"] == [{"name": "median", "label": "median", "params": {}}]


def test_yaml_paths_are_relative_to_the_config(tmp_path, images):
    path = tmp_path / "configs" / "c.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"images": ["../images"], "methods": ["mean"]}))
    config = load_config(path)
    assert config["name"] == "c" and config["images"] == [{"folder": str(images.resolve()), "group": "images"}]


@pytest.mark.parametrize("changes, message", [
    ({"colour": True}, "unknown key"),
    ({"methods": []}, "'methods' is empty"),
    ({"methods": ["no_such_denoiser"]}, "unknown denoiser"),
    ({"methods": [{"name": "median", "params": {"size": 4}}]}, "size"),
    ({"methods": ["median", {"name": "median", "params": {"size": 5}}]}, "method label"),
    ({"noise": [{"model": "gaussian", "levels": [300], "scale": 255}]}, "sigma"),
    ({"noise": [{"model": "gaussian", "levels": "high"}]}, "expected a number"),
    ({"metrics": ["psnr", "beauty"]}, "unknown metric"),
    ({"seeds": [-1]}, "seeds"),
    ({"seeds": [2**64]}, "seeds"),  # SQLite cannot store it: the run would end in an OverflowError
    ({"noise": [{"model": "gaussian", "levels": []}]}, "no levels"),  # a run of no cases
    ({"noise": [{"model": "gaussian", "levels": [-5], "scale": 255}]}, "level -5.*from 0 to 127.5"),
    ({"images": [{"folder": "x", "zip": "y.zip"}]}, "exactly one of"),
])
def test_bad_configs_are_refused_with_one_line(tmp_path, capsys, images, changes, message):
    with pytest.raises(DenoiseError, match=message):
        load_config(small_config(images, **changes))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(small_config(images, **changes)))
    assert main(["bench", str(path), "--workers", "0", "--db", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err


def test_unreadable_config_file_is_one_line(tmp_path, capsys):
    (tmp_path / "broken.yaml").write_text("methods: [median\n")
    for path in (tmp_path / "broken.yaml", tmp_path / "missing.yaml"):
        assert main(["bench", str(path), "--db", str(tmp_path / "r.sqlite")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and path.name in err, err


def test_folder_files_and_zip_give_the_same_images(tmp_path, images):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(images.iterdir()):
            zipped.write(path, f"inner/{path.name}")
    files = [str(p) for p in sorted(images.iterdir())]
    config = load_config({"images": [str(images), {"files": files, "group": "listed"}, str(archive)],
                          "methods": ["mean"], "max_size": 32, "limit": 1})
    loaded = run_images(config)
    assert [(group, name) for group, name, _ in loaded] == [("images", "a.png"), ("listed", "a.png"),
                                                            ("set", "inner/a.png")]
    clean = read_image(images / "a.png")[0]
    for _, _, image in loaded:
        np.testing.assert_array_equal(image, clean[4:36, 8:40])  # centre crop of 40×48 to 32×32


def test_missing_and_ambiguous_sources_are_refused(tmp_path, images):
    with pytest.raises(InvalidImageError, match="no such folder"):
        run_images(load_config({"images": [{"folder": str(tmp_path / "nowhere")}], "methods": ["mean"]}))
    with pytest.raises(DenoiseError, match="group and image name"):
        run_images(load_config({"images": [str(images), {"folder": str(images)}], "methods": ["mean"]}))
    (tmp_path / "not.zip").write_text("plain text")
    with pytest.raises(InvalidImageError, match="not a zip"):
        run_images(load_config({"images": [str(tmp_path / "not.zip")], "methods": ["mean"]}))


def test_a_zip_member_over_the_size_limit_is_refused_before_it_is_unpacked(tmp_path, images, monkeypatch):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.write(images / "a.png", "a.png")
    size = (images / "a.png").stat().st_size
    monkeypatch.setattr("denoise_core.benchmark.images.ZIP_MEMBER_BYTES", size - 1)
    with pytest.raises(InvalidImageError, match=f"a.png in the archive: {size:,} bytes unpacked, over the limit"):
        run_images(load_config({"images": [str(archive)], "methods": ["mean"]}))
    monkeypatch.setattr("denoise_core.benchmark.images.ZIP_MEMBER_BYTES", size)
    np.testing.assert_array_equal(run_images(load_config({"images": [str(archive)], "methods": ["mean"]}))[0][2],
                                  read_image(images / "a.png")[0])


def test_run_table_is_tidy_and_reports_progress(images):
    calls = []
    table = run(small_config(images, seeds=[0, 10]), workers=0, progress=lambda done, total: calls.append((done, total)))
    assert list(table.columns) == COLUMNS and table.attrs["run_id"] is None
    assert len(table) == 2 * 2 * 2 * 2 * 2  # images × levels × seeds × methods × metrics
    assert calls == [(n, 4) for n in range(5)]
    assert sorted(table["seed"].unique()) == [0, 1, 10, 11]  # image i gets seed s + i
    assert table["error"].isna().all() and (table["seconds"] > 0).all()
    for method, params in table[["method", "params"]].itertuples(index=False):
        assert set(json.loads(params)) == {p.name for p in registry.get(method, "denoiser").params}


def test_a_failing_metric_leaves_only_its_own_rows_empty_and_the_run_goes_on(tmp_path, monkeypatch):
    folder = write_images(tmp_path / "mixed", sizes=((40, 40), (16, 40)))
    real_measure = tasks.measure

    def ssim_fails_on_short_images(clean, restored, names):  # as SSIM did below its 7×7 window
        if names == ["ssim"] and clean.shape[0] < 20:
            raise InvalidImageError("SSIM needs at least 20 rows here")
        return real_measure(clean, restored, names)

    monkeypatch.setattr(tasks, "measure", ssim_fails_on_short_images)
    table = run(small_config(folder, methods=["mean"]), workers=0)
    small, fine = table[table["image"] == "b.png"], table[table["image"] == "a.png"]
    ssim, psnr = small[small["metric"] == "ssim"], small[small["metric"] == "psnr"]
    assert ssim["value"].isna().all() and ssim["error"].str.startswith("InvalidImageError: SSIM").all()
    expected = [measure_case(read_image(folder / "b.png")[0], "mean", noise="gaussian", seed=1, metrics=["psnr"],
                             noise_params={"sigma": level / 255, "clip": False})[0]["psnr"] for level in (15, 50)]
    assert psnr["error"].isna().all() and psnr["value"].tolist() == expected  # PSNR of the same case is kept
    assert fine["error"].isna().all() and fine["value"].notna().all()
    assert leaderboard(table).loc["mean", "errors"] == 2  # two cases with a failed metric


def test_a_failing_method_fails_every_metric_of_its_cases(images, monkeypatch):
    def broken(clean, method, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("denoise_core.benchmark.tasks.restore_case", broken)
    table = run(small_config(images, methods=["mean"]), workers=0)
    assert len(table) == 8 and table["value"].isna().all()
    assert (table["error"] == "RuntimeError: out of memory").all()


def test_lpips_without_its_weights_leaves_psnr_and_ssim_computed(tmp_path, capsys, monkeypatch, images):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    assert not metrics.available("lpips")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(small_config(images, metrics=["psnr", "ssim", "lpips"])))
    assert main(["bench", str(config), "--workers", "0", "--db", str(tmp_path / "r.sqlite"), "--json"]) == 0
    out, err = capsys.readouterr()
    assert "note: LPIPS (AlexNet) is unavailable" in err and "weights fetch lpips" in err
    board = json.loads(out)["leaderboard"]
    table = run(small_config(images, metrics=["psnr", "ssim", "lpips"]), workers=0)
    without = run(small_config(images), workers=0)
    lpips = table[table["metric"] == "lpips"]
    assert len(lpips) == 8 and lpips["value"].isna().all()
    assert lpips["error"].str.contains("weights file not found").all()
    others = table[table["metric"] != "lpips"].reset_index(drop=True)
    assert others["error"].isna().all()
    assert_same_numbers(others.drop(columns="error"), without.drop(columns="error"))
    expected = leaderboard(without)
    assert [row["method"] for row in board] == expected.index.tolist()  # ranked by PSNR, the first with values
    assert [row["psnr mean"] for row in board] == pytest.approx(expected["psnr mean"].tolist())
    assert [row["errors"] for row in board] == [4, 4] and [row["cases"] for row in board] == [4, 4]


def test_an_unknown_export_suffix_is_refused_before_the_run(tmp_path, capsys, images):
    config, db = tmp_path / "c.yaml", tmp_path / "r.sqlite"
    config.write_text(yaml.safe_dump(small_config(images)))
    assert main(["bench", str(config), "--workers", "0", "--db", str(db), "--out", str(tmp_path / "rows.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rows.txt" in err and ".csv, .parquet, .md" in err
    assert Store(db).runs().empty  # nothing was run for an export that could not be written


def test_only_regular_files_are_images_of_a_folder(images):
    (images / "d.png").mkdir()
    (images / "e.png").symlink_to("/dev/null")  # a device behind an image name
    (images / "f.png").symlink_to(images / "a.png")  # a link to a regular file counts
    assert [path.name for path in image_files(images)] == ["a.png", "b.png", "f.png"]


def test_a_folder_of_volumes_and_dicoms_lists_every_file_the_reader_reads(tmp_path):
    import shutil
    for name in ("mri_volume.nii.gz", "ct_small.dcm", "camera.png"):
        shutil.copy(ROOT / "sample_images" / name, tmp_path / name.upper())  # any case
    (tmp_path / "notes.txt").write_text("not an image")
    files = image_files(tmp_path)
    assert [path.name for path in files] == ["CAMERA.PNG", "CT_SMALL.DCM", "MRI_VOLUME.NII.GZ"]
    assert [read_image(path)[1].format for path in files] == ["PNG", "DICOM", "NIfTI"]


def test_the_app_reads_folders_only_inside_its_roots(tmp_path, images):
    allowed, outside = tmp_path / "allowed", write_images(tmp_path / "outside")
    inner = write_images(allowed / "set")
    roots = [allowed.resolve()]
    assert checked_folder(str(inner), roots) == inner.resolve()
    for text in (str(outside), str(inner / ".." / ".." / "outside"), "/etc", "~"):
        with pytest.raises(InvalidImageError, match="outside the folders the app may read"):
            checked_folder(text, roots)
    (allowed / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidImageError, match="outside the folders"):
        checked_folder(str(allowed / "link"), roots)
    (inner / "z.png").symlink_to(outside / "a.png")
    with pytest.raises(InvalidImageError, match="z.png in .*links to a file outside"):
        checked_folder(str(inner), roots)
    with pytest.raises(InvalidImageError, match="type the path"):
        checked_folder("  ", roots)


def test_image_roots_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_IMAGE_ROOTS", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    assert image_roots() == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    monkeypatch.delenv("DENOISE_WORKBENCH_IMAGE_ROOTS")
    assert Path.home().resolve() in image_roots()


def test_summary_tables(images):
    table = run(small_config(images, methods=FAST), workers=0)
    board = leaderboard(table)
    assert list(board.columns) == ["psnr mean", "psnr std", "ssim mean", "ssim std", "seconds", "cases", "errors"]
    assert board["psnr mean"].is_monotonic_decreasing and set(board.index) == set(FAST)
    pivot = paper_table(table, "psnr")
    assert pivot.shape == (3, 2) and list(pivot.columns) == [("gaussian", 15.0), ("gaussian", 50.0)]
    assert math.isclose(pivot.loc["median"].mean(), board.loc["median", "psnr mean"])
    front = time_quality(table)
    assert front["pareto"].any()
    best = front["psnr"].idxmax()
    assert front.loc[best, "pareto"] and front.loc[front["seconds"].idxmin(), "pareto"]


def test_dask_local_cluster_gives_the_same_rows(images):
    config = small_config(images, methods=FAST)
    assert_same_numbers(run(config, workers=0), run(config, workers=2))


def test_dicom_files_are_a_source():
    ct = ROOT / "sample_images" / "ct_small.dcm"
    table = run({"images": [{"files": [str(ct)], "group": "CT"}], "methods": ["median"], "metrics": ["psnr"],
                 "noise": [{"model": "gaussian", "levels": [25], "scale": 255}]}, workers=0)
    scores, _, used = measure_case(read_image(ct)[0], "median", noise="gaussian",
                                   noise_params={"sigma": 25 / 255, "clip": False}, seed=0, metrics=["psnr"])
    assert table[["group", "image"]].values.tolist() == [["CT", "ct_small.dcm"]]
    assert table["value"].tolist() == [scores["psnr"]] and json.loads(table["params"][0]) == used


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks" / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_ready_made_configs_load_with_the_registered_methods(path):
    config = load_config(path)
    assert config["name"] == path.stem and config["methods"]
    assert all(registry.get(method["name"], "denoiser") for method in config["methods"])
