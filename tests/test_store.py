"""The results store: runs kept in SQLite, resumed after a kill, listed, compared, deleted and exported."""
import io
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from denoise_core import benchmark, metrics
from denoise_core.benchmark import leaderboard, load_config, run, tasks
from denoise_core.benchmark.config import config_hash
from denoise_core.benchmark.report import EXPORT_FORMATS, export, file_stem
from denoise_core.benchmark.store import LEASE_SECONDS, ROW_KEY, Store, StoreError
from denoise_core.cli import main
from test_benchmark import assert_same_numbers, small_config, write_images

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def images(tmp_path) -> Path:
    return write_images(tmp_path / "images")


def spy_on_cases(monkeypatch, stop_after: int | None = None) -> list:
    """The method of every case ``run`` measures in this process from now on; with ``stop_after``,
    the case after that many raises KeyboardInterrupt, as Ctrl-C would."""
    seen, restore = [], tasks.restore_case

    def spy(clean, method, **kwargs):
        if stop_after is not None and len(seen) == stop_after:
            raise KeyboardInterrupt
        seen.append(method)
        return restore(clean, method, **kwargs)

    monkeypatch.setattr(tasks, "restore_case", spy)
    return seen


def test_an_interrupted_bench_keeps_finished_rows_and_resumes(tmp_path, capsys, monkeypatch, images):
    config, db = tmp_path / "c.yaml", tmp_path / "r.sqlite"
    config.write_text(yaml.safe_dump(small_config(images)))  # 2 images × 2 methods = 4 tasks of 2 levels
    spy_on_cases(monkeypatch, stop_after=5)  # tasks 1 and 2 finish, task 3 is cut after one case
    with pytest.raises(SystemExit) as stopped:
        main(["bench", str(config), "--workers", "0", "--db", str(db)])
    assert stopped.value.code == 130 and "resume" in capsys.readouterr().err
    store = Store(db)
    assert store.runs()[["id", "status", "rows"]].to_dict("records") == [{"id": 1, "status": "incomplete", "rows": 8}]
    kept = store.results(1)
    monkeypatch.undo()
    seen = spy_on_cases(monkeypatch)
    assert main(["bench", str(config), "--workers", "0", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == 1
    assert len(seen) == 2 * 2  # only the two unfinished tasks, each at two levels
    assert store.runs()[["id", "status", "rows"]].to_dict("records") == [{"id": 1, "status": "complete", "rows": 16}]
    resumed = store.results(1)
    pd.testing.assert_frame_equal(resumed.merge(kept)[kept.columns], kept)  # finished rows kept as they were
    assert_same_numbers(resumed, run(small_config(images), workers=0))


def test_a_killed_process_leaves_a_readable_store_that_resumes(tmp_path, monkeypatch):
    folder = write_images(tmp_path / "many", sizes=[(96, 96)] * 30)
    config = small_config(folder, methods=["median", "gaussian"], noise=[{"model": "gaussian", "levels": [15, 25, 50],
                                                                           "scale": 255}])
    path, db = tmp_path / "c.yaml", tmp_path / "r.sqlite"
    path.write_text(yaml.safe_dump(config))
    child = subprocess.Popen([sys.executable, "-m", "denoise_core", "bench", str(path), "--workers", "0", "--db", str(db)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while stored_rows(db) == 0 and child.poll() is None:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    store = Store(db)
    (status, rows), = store.runs()[["status", "rows"]].itertuples(index=False)
    total = 30 * 2 * 3 * 2  # images × methods × levels × metrics
    assert status == "incomplete" and 0 < rows < total and rows % 6 == 0  # whole tasks only
    calls = spy_on_cases(monkeypatch)
    table = run(config, workers=0, store=store)
    assert len(calls) == (total - rows) // 2  # one measured case per level of each unfinished task
    assert store.runs()["status"].tolist() == ["complete"] and len(table) == total


def stored_rows(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_runs_are_listed_shown_compared_and_deleted(tmp_path, capsys, images):
    store = Store(tmp_path / "r.sqlite")
    first = run(small_config(images, methods=["median"]), workers=0, store=store)
    second = run(small_config(images, methods=["median", "mean"], name="more"), workers=0, store=store)
    assert (first.attrs["run_id"], second.attrs["run_id"]) == (1, 2)
    listed = store.runs()
    assert listed[["id", "name", "status", "rows"]].to_dict("records") == [
        {"id": 1, "name": "small", "status": "complete", "rows": 8}, {"id": 2, "name": "more", "status": "complete",
                                                                       "rows": 16}]
    info = store.info(2)
    assert info["config"]["methods"][1]["name"] == "mean" and info["machine"]["cores"] == os.cpu_count()
    assert info["versions"]["numpy"] and info["weights"] == {} and info["finished"]
    compared = store.compare(1, 2)
    median = compared.loc[("median", "gaussian", 15.0)]
    assert median["first"] == median["second"] and median["difference"] == 0
    assert pd.isna(compared.loc[("mean", "gaussian", 50.0), "first"])
    assert compared.loc[("mean", "gaussian", 50.0), "second"] == pytest.approx(
        second[(second["method"] == "mean") & (second["level"] == 50) & (second["metric"] == "psnr")]["value"].mean())

    db = str(store.path)
    assert main(["runs", "list", "--db", db, "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [1, 2]
    assert main(["runs", "show", "2", "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    board = leaderboard(second)
    assert [r["method"] for r in shown["leaderboard"]] == board.index.tolist()
    assert shown["leaderboard"][0]["psnr mean"] == pytest.approx(board["psnr mean"].iloc[0])
    assert main(["runs", "delete", "1", "--db", db]) == 0
    assert store.runs()["id"].tolist() == [2]
    assert main(["runs", "show", "1", "--db", db]) == 2 and "no run 1" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["csv", "parquet", "md"])
def test_exports_open_in_pandas(tmp_path, capsys, images, fmt):
    store = Store(tmp_path / "r.sqlite")
    table = run(small_config(images, methods=["median", "mean"], metrics=["psnr", "ssim", "mse"]), workers=0,
                store=store)
    out = tmp_path / f"run.{fmt}"
    assert main(["runs", "export", "1", "--format", fmt, "--out", str(out), "--db", str(store.path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == str(out)
    if fmt == "csv":
        exported = pd.read_csv(out, dtype={"error": object}).fillna({"error": ""})
        pd.testing.assert_frame_equal(exported, table.fillna({"error": ""}), check_dtype=False)
    elif fmt == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(out), table)
    else:
        report = out.read_text()
        tables = markdown_tables(report)
        board = leaderboard(table)
        assert "## Leaderboard" in report and "## PSNR (dB) by noise level" in report
        assert tables[0]["psnr mean"].tolist() == pytest.approx(board["psnr mean"].round(4).tolist())
        for metric in ("psnr", "ssim", "mse"):
            chart = out.with_name(f"run-{metric}-gaussian.png")
            assert chart.stat().st_size > 1000 and f"]({chart.name})" in report


def markdown_tables(markdown: str) -> list[pd.DataFrame]:
    """Every Markdown table of a report as a DataFrame (numbers parsed)."""
    tables, rows = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            rows += [] if line.startswith("|---") else ["\t".join(cell.strip() for cell in line.strip(" |").split(" | "))]
        elif rows:
            tables.append(pd.read_csv(io.StringIO("\n".join(rows)), sep="\t"))
            rows = []
    return tables


def test_a_file_that_is_not_a_store_is_refused(tmp_path, capsys):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are my notes, not a database " * 20)
    with pytest.raises(StoreError, match="not a readable results database"):
        Store(path)
    assert main(["runs", "list", "--db", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def key_duplicates(db: Path) -> int:
    """How many rows of the store share their whole key with an earlier row."""
    with sqlite3.connect(db) as connection:
        total = connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        distinct = connection.execute("SELECT COUNT(*) FROM (SELECT DISTINCT " + ", ".join(f'"{c}"' for c in ROW_KEY) + " "
                                      "FROM results)").fetchone()[0]
    return total - distinct


def test_two_bench_processes_started_together_store_each_row_once(tmp_path):
    folder = write_images(tmp_path / "many", sizes=[(96, 96)] * 24)
    config = small_config(folder, methods=["median", "gaussian"], repeats=3,
                          noise=[{"model": "gaussian", "levels": [15, 25, 50], "scale": 255}])
    path, db = tmp_path / "c.yaml", tmp_path / "r.sqlite"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "denoise_core", "bench", str(path), "--workers", "0", "--db", str(db), "--json"]
    children = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    outcomes = sorted((child.wait(timeout=600), *child.communicate()) for child in children)
    (first, out, _), (second, _, err) = outcomes
    assert (first, second) == (0, 2), outcomes
    assert err.startswith("error: ") and err.count("\n") == 1 and "is being written by process" in err, err
    total = 24 * 2 * 3 * 2  # images × methods × levels × metrics
    assert json.loads(out)["rows"] == total
    store = Store(db)
    assert store.runs()[["id", "status", "rows"]].to_dict("records") == [{"id": 1, "status": "complete", "rows": total}]
    assert key_duplicates(db) == 0


def test_a_row_is_never_stored_twice(tmp_path, images):
    store = Store(tmp_path / "r.sqlite")
    config = load_config(small_config(images, methods=["median"]))
    table = run(config, workers=0, store=store)
    run_id = store.begin(config, engine="in process")  # complete: a new run
    rows = table.to_dict("records")
    store.add(run_id, rows)
    store.add(run_id, rows)  # the same task's rows again, as a second writer would
    assert len(store.results(run_id)) == len(rows) == 8
    store.release(run_id)
    assert key_duplicates(store.path) == 0


def test_a_live_claim_is_refused_and_a_stale_one_taken_over(tmp_path, images):
    path = tmp_path / "r.sqlite"
    config = load_config(small_config(images, methods=["median"]))
    first, second = Store(path), Store(path)
    run_id = first.begin(config, engine="in process")
    with pytest.raises(StoreError, match=f"run {run_id} of this config is being written by process {os.getpid()}"):
        second.begin(config, engine="in process")
    with sqlite3.connect(path) as db:  # its heartbeat stopped a lease ago: a hung or lost process
        db.execute("UPDATE runs SET heartbeat = ?", (time.time() - LEASE_SECONDS - 1,))
    assert second.begin(config, engine="in process") == run_id
    with pytest.raises(StoreError, match="taken over by another process"):
        first.add(run_id, run(config, workers=0).to_dict("records"))
    assert second.results(run_id).empty
    second.release(run_id)

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = json.dumps({"host": platform.node(), "pid": int(gone.stdout), "token": "killed"})
    with sqlite3.connect(path) as db:  # fresh heartbeat, but its process on this host is gone
        db.execute("UPDATE runs SET owner = ?, heartbeat = ?", (owner, time.time()))
    assert Store(path).begin(config, engine="in process") == run_id


OLD_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, config TEXT NOT NULL,
    config_hash TEXT NOT NULL, versions TEXT NOT NULL, weights TEXT NOT NULL, machine TEXT NOT NULL,
    engine TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
    status TEXT NOT NULL CHECK (status IN ('incomplete', 'complete')));
CREATE TABLE results (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    "group" TEXT NOT NULL, image TEXT NOT NULL, seed INTEGER NOT NULL, noise TEXT NOT NULL,
    level REAL NOT NULL, noise_params TEXT NOT NULL, method TEXT NOT NULL, params TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL, seconds REAL, error TEXT);
CREATE INDEX results_run ON results(run_id);
"""


def test_a_store_of_the_previous_version_opens_and_loses_its_duplicates(tmp_path, capsys, images):
    path = tmp_path / "old.sqlite"
    config = load_config(small_config(images, methods=["median"]))
    table = run(config, workers=0)
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO runs (name, config, config_hash, versions, weights, machine, engine, started, status) "
                   "VALUES ('old', ?, ?, '{}', '{}', '{}', 'in process', '2025-01-01', 'complete')",
                   (json.dumps(config), config_hash(config)))
        rows = [(1, *row) for row in table[benchmark.COLUMNS].itertuples(index=False)]
        db.executemany(f"INSERT INTO results VALUES ({', '.join('?' * 13)})", rows + rows[:3])  # three stored twice
    assert main(["runs", "show", "1", "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["leaderboard"][0]["cases"] == 4
    assert_same_numbers(Store(path).results(1), table)
    assert key_duplicates(path) == 0


@pytest.mark.parametrize("kind", ["folder", "text file"])
def test_runs_list_on_a_folder_or_a_text_file_is_one_line(tmp_path, capsys, kind):
    path = tmp_path / "results"
    path.mkdir() if kind == "folder" else path.write_text("not a database " * 100)
    assert main(["runs", "list", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(path) in err, err
    assert ("is a folder" if kind == "folder" else "not a readable results database") in err


def test_a_run_whose_rows_all_failed_shows_and_exports(tmp_path, capsys, monkeypatch, images):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(metrics, "_LPIPS_CACHE", [])
    store = Store(tmp_path / "r.sqlite")
    run(small_config(images, metrics=["lpips"]), workers=0, store=store)
    db = str(store.path)
    assert main(["runs", "show", "1", "--db", db, "--json"]) == 0
    board = json.loads(capsys.readouterr().out)["leaderboard"]
    assert [(row["cases"], row["errors"], row["lpips mean"]) for row in board] == [(0, 4, None)] * 2
    for fmt in EXPORT_FORMATS:
        assert main(["runs", "export", "1", "--format", fmt, "--out", str(tmp_path / f"run.{fmt}"), "--db", db]) == 0
    report = (tmp_path / "run.md").read_text()
    assert "## Errors" in report and "weights file not found" in report


def test_export_file_names_from_stored_values_stay_in_the_folder(tmp_path, images):
    store = Store(tmp_path / "r.sqlite")
    config = load_config(small_config(images, methods=["median"], name="../../escape/run"))
    run_id = store.begin(config, engine="in process")
    rows = run(config, workers=0).assign(noise="../../../escape/x").to_dict("records")  # a tampered store
    store.add(run_id, rows)
    store.finish(run_id)
    out = tmp_path / "out"
    out.mkdir()
    written = export(store, run_id, "md", out / "report.md")
    assert {path.parent for path in written} == {out} and len(written) == 3
    assert sorted(path.name for path in out.iterdir()) == ["report-psnr-_.._.._escape_x.png", "report-ssim-_.._.._escape_x.png",
                                                          "report.md"]
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()
    assert file_stem("../../a b/c") == "_.._a_b_c" and file_stem("...") == "_"


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_an_export_that_cannot_be_written_is_one_line(tmp_path, capsys, images, where):
    store = Store(tmp_path / "r.sqlite")
    run(small_config(images, methods=["median"]), workers=0, store=store)
    out = tmp_path / "nowhere" / "run.csv" if where == "missing folder" else tmp_path
    assert main(["runs", "export", "1", "--format", "csv", "--out", str(out), "--db", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(out) in err, err
