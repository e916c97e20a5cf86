"""AppTest of the Benchmark page: build a small config with its widgets, run it, read the results, compare runs."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from denoise_core import metrics
from denoise_core.benchmark import leaderboard, run
from denoise_core.benchmark.store import Store
from denoise_core.paths import DB_VAR, ROOTS_VAR
from test_benchmark import small_config, write_images

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(tmp_path, monkeypatch, small_sample):
    """The Benchmark page, not yet run, with its own empty results store."""
    monkeypatch.setenv(DB_VAR, str(tmp_path / "results.sqlite"))
    monkeypatch.setenv(ROOTS_VAR, str(tmp_path / "images"))  # the folders the page may read
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))  # no LPIPS weights
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/4_Benchmark.py")
    at.query_params["img"] = small_sample
    return at


def describe_small(at, folder: Path, methods: list[str], metric_names=("psnr", "ssim")):
    """Describe the small config of ``test_benchmark.small_config`` with the widgets, to run in process."""
    at.selectbox(key="w.bench.images").set_value("A folder on this computer").run()
    at.text_input(key="w.bench.folder").set_value(str(folder))
    at.number_input(key="w.bench.limit").set_value(0)
    at.number_input(key="w.bench.size").set_value(0)
    at.text_input(key="w.bench.levels.gaussian").set_value("15, 50")
    at.multiselect(key="w.bench.methods").set_value(methods)
    at.multiselect(key="w.bench.metrics").set_value(list(metric_names))
    at.number_input(key="w.bench.workers").set_value(0)
    return at.run()


def run_small(at, folder: Path, methods: list[str], metric_names=("psnr", "ssim")):
    """Describe the small config with the widgets and run it in process."""
    return describe_small(at, folder, methods, metric_names).button(key="w.bench.run").click().run()


def test_a_small_benchmark_runs_from_the_page(bench, tmp_path):
    at = bench.run()
    assert not at.exception
    assert any("No runs yet" in info.value for info in at.info)
    assert at.multiselect(key="w.bench.methods").value == ["median", "gaussian", "mean"]
    assert "A folder on this computer" in at.selectbox(key="w.bench.images").options
    folder = write_images(tmp_path / "images")
    at = run_small(at, folder, ["median", "mean"])
    assert not at.exception and not at.error
    expected = leaderboard(run(small_config(folder), workers=0))
    board = at.dataframe[0].value
    assert board.index.tolist() == expected.index.tolist() and set(board.index) == {"median", "mean"}
    assert board["psnr mean"].tolist() == pytest.approx(expected["psnr mean"].tolist(), abs=1e-12)
    assert board["ssim std"].tolist() == pytest.approx(expected["ssim std"].tolist(), abs=1e-12)
    charts = at.get("plotly_chart")
    assert len(charts) == 2 + 2 + 1  # PSNR and SSIM curves, scatter and box, time versus quality
    assert Store().runs()[["id", "status", "rows"]].to_dict("records") == [{"id": 1, "status": "complete", "rows": 16}]


def test_past_runs_reopen_and_compare_side_by_side(bench, tmp_path):
    folder = write_images(tmp_path / "images")
    store = Store(tmp_path / "results.sqlite")
    first = run(small_config(folder, methods=["median"]), workers=0, store=store)
    second = run(small_config(folder, methods=["median", "mean"], name="two"), workers=0, store=store)
    at = bench.run()
    assert not at.exception
    assert at.selectbox(key="w.bench.show").value == 2  # the newest run first
    at.selectbox(key="w.bench.show").set_value(1).run()
    assert at.dataframe[0].value["psnr mean"].tolist() == pytest.approx(
        leaderboard(first)["psnr mean"].tolist(), abs=1e-12)
    assert (at.selectbox(key="w.bench.a").value, at.selectbox(key="w.bench.b").value) == (2, 1)
    compared = [frame.value for frame in at.dataframe if "difference" in frame.value.columns][0]
    assert compared.loc[("median", "gaussian", 50.0), "difference"] == 0
    assert compared.loc[("mean", "gaussian", 50.0), "first"] == pytest.approx(
        second[(second["method"] == "mean") & (second["level"] == 50) & (second["metric"] == "psnr")]["value"].mean())
    at.button(key="w.bench.delete").click().run()
    assert not at.exception and store.runs()["id"].tolist() == [2]


@pytest.mark.parametrize("levels", ["abc", "", "-5", "1e999", "nan", "1e6", "15,,x"])
def test_garbage_levels_are_one_error_line_and_nothing_runs(bench, tmp_path, levels):
    folder = write_images(tmp_path / "images")
    at = describe_small(bench.run(), folder, ["median"])
    at.text_input(key="w.bench.levels.gaussian").set_value(levels).run()
    assert not at.exception
    assert len(at.error) == 1 and "level" in at.error[0].value, [e.value for e in at.error]
    assert at.button(key="w.bench.run").disabled and Store().runs().empty


def test_lpips_without_weights_is_marked_and_leaves_the_other_metrics(bench, tmp_path):
    folder = write_images(tmp_path / "images")
    at = bench.run()
    assert any("LPIPS (AlexNet) is unavailable" in caption.value and "weights fetch lpips" in caption.value
               for caption in at.caption)
    at = run_small(at, folder, ["median", "mean"], ("psnr", "ssim", "lpips"))
    assert not at.exception and not at.error
    expected = leaderboard(run(small_config(folder), workers=0))
    board = at.dataframe[0].value
    assert board.index.tolist() == expected.index.tolist()
    assert board["psnr mean"].tolist() == pytest.approx(expected["psnr mean"].tolist(), abs=1e-12)
    assert board["lpips mean"].isna().all() and board["errors"].tolist() == [4, 4]


def test_a_run_whose_rows_all_failed_opens(bench, tmp_path):
    folder = write_images(tmp_path / "images")
    run(small_config(folder, metrics=["lpips"]), workers=0, store=Store(tmp_path / "results.sqlite"))
    at = bench.run()
    assert not at.exception and not at.error
    assert any("8 rows, 8 failed" in caption.value for caption in at.caption)  # 2 images × 2 methods × 2 levels
    assert any("No case has a LPIPS (AlexNet) value" in info.value for info in at.info)


@pytest.mark.parametrize("where", ["outside", "dotdot", "empty"])
def test_a_folder_outside_the_allowed_ones_is_refused(bench, tmp_path, where):
    write_images(tmp_path / "images")
    outside = write_images(tmp_path / "private")
    text = {"outside": str(outside), "dotdot": str(tmp_path / "images" / ".." / "private"), "empty": ""}[where]
    at = bench.run()
    at.selectbox(key="w.bench.images").set_value("A folder on this computer").run()
    at.text_input(key="w.bench.folder").set_value(text).run()
    assert not at.exception and len(at.error) == 1
    assert ("type the path" if where == "empty" else "outside the folders the app may read") in at.error[0].value
    assert at.button(key="w.bench.run").disabled


def test_a_run_is_named_by_the_user_by_default_after_its_config_and_date(bench, tmp_path):
    from datetime import date
    folder = write_images(tmp_path / "images")
    at = describe_small(bench.run(), folder, ["median"])
    assert at.text_input(key="w.bench.name").value == f"app {date.today().isoformat()}"
    assert at.multiselect(key="w.bench.methods").format_func("median") == "Median filter"  # a title, not the id
    at.text_input(key="w.bench.name").set_value("median on my scans")
    at.button(key="w.bench.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert Store(tmp_path / "results.sqlite").runs()["name"].tolist() == ["median on my scans"]
