"""AppTest of the Sweeps page: a small sweep run from the page, its chart and crossovers, the link, the same rows as
the ``sweep`` command, and a mismatch experiment in one click."""
import base64
import json

import numpy as np
import pytest

from denoise_core.benchmark.sweep import ROW_COLUMNS, records
from denoise_core.cli import main
from denoise_core.paths import DB_VAR, SHARED_DATA
from test_app_downloads import download, media  # noqa: F401  (the files behind the download buttons)
from test_app_bundles import open_bundle
from test_bundle import verify
from ui import state


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    """Each test's own results store."""
    monkeypatch.setenv(DB_VAR, str(tmp_path / "results.sqlite"))


def describe(at, *, size=64, spec=(5.0, 75.0, 4), methods=("median", "wiener"), seeds=2):
    """Set the sweep's widgets (the current image, cropped) and rerun."""
    at.number_input(key="w.sw.size").set_value(size)
    for name, value in zip(("from", "to", "levels"), spec):
        at.number_input(key=f"w.sw.range.{name}").set_value(value)
    at.multiselect(key="w.sw.m").set_value(list(methods))
    at.number_input(key="w.sw.seeds").set_value(seeds)
    return at.run()


def crossover_list(at):
    """The page's list of crossovers (the table with an 'ahead above' column)."""
    return next(frame.value for frame in at.dataframe if "ahead above" in frame.value.columns)


def test_a_sweep_from_the_page_draws_bands_and_lists_crossovers(open_page, media, tmp_path, capsys):  # noqa: F811
    at = open_page("sweeps").run()
    assert not at.exception and any("then Run" in info.value for info in at.info)
    at = describe(at).button(key="w.sw.run").click().run()
    assert not at.exception and not at.error
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace.get("name") for trace in chart["data"] if trace.get("showlegend") is not False]
    assert names == ["Median filter", "Local (adaptive) Wiener filter", "crossover"]
    assert any(trace.get("fill") == "tonexty" for trace in chart["data"])  # the 95 % bands
    crossings = crossover_list(at)
    assert crossings["ahead above"].tolist() == ["Median filter"]
    assert crossings["overtaken"].tolist() == ["Local (adaptive) Wiener filter"]
    assert crossings["between levels"].tolist() == ["28.3333–51.6667"] and 28.3 < crossings["level"][0] < 51.7
    rows = at.session_state[state.SWEEP_RESULT][1][0][3]
    assert len(rows) == 1 * 4 * 2 * 2 * 2  # image × levels × seeds × methods × metrics
    assert any("over 8 pairs" in markdown.value for markdown in at.markdown)  # the paired test
    assert at.query_params["sw.range"] == "5:75:4" and at.query_params["sw.m"] == "median,wiener"
    data = download(at, "w.sw.bundle.0", media)
    (tmp_path / "sweep.zip").write_bytes(data)
    code, out, _ = verify(tmp_path / "sweep.zip", capsys)  # every number of the sweep, recomputed
    assert code == 0 and "32 of 32 numbers match" in out, out
    home = open_bundle(open_page("home", img="coffee"), data)  # reopens the Sweeps page as it was
    assert not home.exception and home.session_state[state.PAGE] == "Sweeps"
    assert home.query_params["sw.range"] == "5:75:4" and home.query_params["sw.m"] == "median,wiener"
    assert crossover_list(home)["ahead above"].tolist() == ["Median filter"]  # the stored sweep, shown again


def test_a_link_brings_the_settings_back_and_shows_the_stored_sweep(open_page):
    at = describe(open_page("sweeps").run()).button(key="w.sw.run").click().run()
    link = dict(at.query_params.items())
    again = open_page("sweeps", **link).run()
    assert not again.exception
    assert again.multiselect(key="w.sw.m").value == ["median", "wiener"]
    assert again.number_input(key="w.sw.range.levels").value == 4 and again.number_input(key="w.sw.seeds").value == 2
    assert crossover_list(again)["ahead above"].tolist() == ["Median filter"]  # no click needed
    assert records(again.session_state[state.SWEEP_RESULT][1][0][3]) == records(
        at.session_state[state.SWEEP_RESULT][1][0][3])


@pytest.mark.skipif(not (SHARED_DATA / "set12").is_dir(), reason="../shared/data/set12 is absent")
def test_the_page_and_the_command_line_give_the_same_rows(open_page, capsys):
    at = open_page("sweeps").run()
    at.selectbox(key="w.sw.img").set_value("set12").run()
    at.number_input(key="w.sw.limit").set_value(2)
    at = describe(at, size=48, spec=(10.0, 50.0, 3), methods=("median", "gaussian")).button(key="w.sw.run").click().run()
    assert not at.exception and not at.error
    page_rows = records(at.session_state[state.SWEEP_RESULT][1][0][3])
    assert main(["sweep", "--noise", "gaussian", "--param", "sigma", "--range", "10:50:3", "--methods", "median",
                 "gaussian", "--data", str(SHARED_DATA / "set12"), "--limit", "2", "--size", "48", "--seeds", "2",
                 "--workers", "0", "--json"]) == 0
    cli_rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(page_rows) == 2 * 3 * 2 * 2 * 2
    without_seconds = [[{k: v for k, v in row.items() if k != "seconds"} for row in rows] for rows in (page_rows, cli_rows)]
    assert without_seconds[0] == without_seconds[1] and set(cli_rows[0]) == set(ROW_COLUMNS)


def test_the_wrong_sigma_experiment_runs_in_one_click(open_page):
    at = open_page("sweeps").run()
    at.number_input(key="w.sw.size").set_value(32)
    at.selectbox(key="w.sw.mode").set_value("experiment").run()
    at = at.button(key="w.sw.exp.wrong_sigma").click().run(timeout=240)  # 24 FFDNet and BM3D calls on a 2-core machine
    assert not at.exception and not at.error
    assert [header.value for header in at.subheader] == ["Gaussian noise, σ told 0.5×–2×"]
    assert any("Told too little, they leave noise" in markdown.value for markdown in at.markdown)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    legend = [trace.get("name") for trace in chart["data"] if trace.get("showlegend") is not False]
    assert "FFDNet gray, blind Gaussian σ 0–55 (CPU run), told 0.5× σ" in legend and len(legend) >= 8
    told = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]  # against the σ told: a line per method and level
    x = np.frombuffer(base64.b64decode(told[0]["x"]["bdata"]), told[0]["x"]["dtype"])  # plotly's binary arrays
    assert len(told) == 2 * 3 and told[0]["name"].startswith("FFDNet gray") and x.tolist() == [0.5, 0.75, 1, 1.5, 2]
    assert at.query_params["sw.mode"] == "experiment" and at.query_params["sw.exp"] == "wrong_sigma"


def test_a_link_with_bad_sweep_settings_keeps_the_page_working(open_page):
    at = open_page("sweeps", **{"sw.mode": "experiment", "sw.exp": "nope", "sw.seeds": "many", "sw.m": "nope,median",
                                "sw.range": "a:b"}).run()
    assert not at.exception and not at.error
    assert any("'sw.seeds' = 'many': expected a whole number from 1 to 20" in w.value for w in at.warning)
    assert at.query_params["sw.exp"] == "fixed_sigma" and at.query_params["sw.seeds"] == "1"
    at.selectbox(key="w.sw.mode").set_value("sweep").run()
    assert at.multiselect(key="w.sw.m").value == ["median"] and at.query_params["sw.range"] == "15:50:5"  # σ 15–50: the usual levels
