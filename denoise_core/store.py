"""The results store: every benchmark run and its tidy rows in one embedded SQLite file.

``runs`` holds one row per run: its config, the versions of the key packages, the sha256 of the
learned weights it used, the machine and engine, start and finish times and its status
(``incomplete`` until every task has finished). ``results`` holds the run's tidy rows
(``benchmark.COLUMNS``), written one task at a time in a transaction, so a run killed halfway
leaves a readable store with its finished rows kept. ``export`` writes a run as CSV, Parquet or a
Markdown report with PNG charts.

The default file is ``$DENOISE_WORKBENCH_DB``, else ``$XDG_DATA_HOME/denoise-workbench/results.sqlite``
(``~/.local/share`` when ``XDG_DATA_HOME`` is unset).
"""
from __future__ import annotations

import json
import os
import platform
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd
import yaml
from PIL import Image, ImageDraw, ImageFont

from . import registry
from .benchmark import COLUMNS, config_hash, leaderboard, paper_table, tidy
from .errors import DenoiseError

ENV_VAR = "DENOISE_WORKBENCH_DB"
KEY_PACKAGES = ("numpy", "scipy", "scikit-image", "opencv-python-headless", "bm3d", "PyWavelets", "torch",
                "pandas", "dask", "distributed")
FORMATS = ("csv", "parquet", "md")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    versions TEXT NOT NULL,
    weights TEXT NOT NULL,
    machine TEXT NOT NULL,
    engine TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL CHECK (status IN ('incomplete', 'complete'))
);
CREATE TABLE IF NOT EXISTS results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    "group" TEXT NOT NULL, image TEXT NOT NULL, seed INTEGER NOT NULL, noise TEXT NOT NULL,
    level REAL NOT NULL, noise_params TEXT NOT NULL, method TEXT NOT NULL, params TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL, seconds REAL, error TEXT
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
"""
_QUOTED = ", ".join(f'"{column}"' for column in COLUMNS)


class StoreError(DenoiseError):
    """A results file that is not a results database, or a run id that is not in it."""


def default_path() -> Path:
    """The per-user results file (``$DENOISE_WORKBENCH_DB`` overrides it)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "denoise-workbench" / "results.sqlite"


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape the numbers (None: not installed)."""
    versions = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict[str, Any]:
    """This computer in a few words: host, operating system, processor and core count."""
    return {"host": platform.node(), "system": platform.platform(), "processor": platform.machine(),
            "cores": os.cpu_count()}


def learned_weights(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """sha256 of the weights file, architecture and parameter count of each learned method of a
    loaded config, by method label (the hash is the one checked when the weights load)."""
    learned = [m for m in config["methods"] if registry.get(m["name"], "denoiser").family == "learned"]
    if not learned:
        return {}
    from .models import ARCHITECTURES, parameter_count
    from .weights import get_entry
    found = {}
    for method in learned:
        entry = get_entry(method["name"])
        found[method["label"]] = {"sha256": entry.sha256, "arch": entry.arch,
                                  "parameters": parameter_count(ARCHITECTURES[entry.arch](**entry.config))}
    return found


class Store:
    """Benchmark runs and their rows in the SQLite file at ``path`` (``default_path()`` if None).

    Raises
    ------
    StoreError
        The file exists but is not a results database.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: not a readable results database ({error})") from None
        finally:
            db.close()

    def begin(self, config: Mapping[str, Any], *, engine: str) -> int:
        """Id of the run to write ``config``'s rows to: an incomplete run of the same config and
        package versions (resumed), else a new run."""
        digest, versions = config_hash(config), json.dumps(package_versions(), sort_keys=True)
        with self._connect() as db:
            found = db.execute("SELECT id FROM runs WHERE config_hash = ? AND versions = ? AND status = 'incomplete' "
                               "ORDER BY id DESC LIMIT 1", (digest, versions)).fetchone()
            if found:
                return found[0]
            cursor = db.execute(
                "INSERT INTO runs (name, config, config_hash, versions, weights, machine, engine, started, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'incomplete')",
                (config["name"], json.dumps(config, sort_keys=True), digest, versions,
                 json.dumps(learned_weights(config)), json.dumps(machine()), engine, _now()))
            return cursor.lastrowid

    def done(self, run_id: int) -> set[tuple[str, str, str]]:
        """``(group, image, method)`` of every task whose rows are stored."""
        with self._connect() as db:
            return set(db.execute('SELECT DISTINCT "group", image, method FROM results WHERE run_id = ?', (run_id,)))

    def add(self, run_id: int, rows: list[dict]) -> None:
        """Store one task's rows, all or none."""
        values = [(run_id, *(row[column] for column in COLUMNS)) for row in rows]
        with self._connect() as db:
            db.executemany(f"INSERT INTO results (run_id, {_QUOTED}) VALUES (?{', ?' * len(COLUMNS)})", values)

    def finish(self, run_id: int) -> None:
        """Mark a run complete."""
        with self._connect() as db:
            db.execute("UPDATE runs SET status = 'complete', finished = ? WHERE id = ?", (_now(), run_id))

    def runs(self) -> pd.DataFrame:
        """One row per run, oldest first: id, name, status, started, finished, engine and row count."""
        with self._connect() as db:
            return pd.read_sql_query(
                "SELECT r.id, r.name, r.status, r.started, r.finished, r.engine, COUNT(x.run_id) AS rows "
                "FROM runs r LEFT JOIN results x ON x.run_id = r.id GROUP BY r.id ORDER BY r.id", db)

    def info(self, run_id: int) -> dict[str, Any]:
        """Everything recorded about a run but its rows: config, versions, weights, machine, times, status."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"no run {run_id} in {self.path} (list them: python -m denoise_core runs list)")
        info = dict(row)
        for key in ("config", "versions", "weights", "machine"):
            info[key] = json.loads(info[key])
        return info

    def results(self, run_id: int) -> pd.DataFrame:
        """The tidy table of a run (``benchmark.COLUMNS``), in canonical order."""
        self.info(run_id)
        with self._connect() as db:
            rows = db.execute(f"SELECT {_QUOTED} FROM results WHERE run_id = ?", (run_id,)).fetchall()
        return tidy([dict(zip(COLUMNS, row)) for row in rows])

    def delete(self, run_id: int) -> None:
        """Remove a run and its rows."""
        self.info(run_id)
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def compare(self, first: int, second: int, metric: str = "psnr") -> pd.DataFrame:
        """Mean ``metric`` per method, noise and level of two runs: columns ``first``, ``second`` and
        ``difference`` (second minus first); a method or level missing from one run is NaN there."""
        tables = [paper_table(self.results(run_id), metric).stack(["noise", "level"], future_stack=True)
                  for run_id in (first, second)]
        both = pd.concat(tables, axis=1, keys=["first", "second"])
        both["difference"] = both["second"] - both["first"]
        return both


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- Exports ----------------------------------------------------------------------------------------

def export(store: Store, run_id: int, fmt: str, path: str | Path | None = None) -> list[Path]:
    """Write run ``run_id`` as ``csv`` or ``parquet`` (its tidy rows) or ``md`` (a report with charts).

    Parameters
    ----------
    path : file to write; default ``run-<id>.<fmt>`` in the working directory. The report's PNG
        charts are written next to it, named after it.

    Returns
    -------
    list of Path
        Every file written, the requested one first.
    """
    if fmt not in FORMATS:
        raise StoreError(f"export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path) if path is not None else Path(f"run-{run_id}.{fmt}")
    table, info = store.results(run_id), store.info(run_id)
    if fmt == "csv":
        table.to_csv(path, index=False)
        return [path]
    if fmt == "parquet":
        table.attrs = {"run": info}
        table.to_parquet(path, index=False)
        return [path]
    return write_report(table, info, path)


def write_report(table: pd.DataFrame, info: Mapping[str, Any], path: Path) -> list[Path]:
    """A Markdown report of one run: what ran where, the leaderboard, the papers' tables, PNG charts, errors."""
    charts = _charts(table, path)
    lines = [f"# Benchmark run {info['id']}: {info['name']}", "", *_run_facts(info), "", "## Leaderboard", "",
             _markdown(leaderboard(table).round(4).reset_index()), ""]
    for metric in dict.fromkeys(table["metric"]):
        title = registry.get(metric, "metric").title
        lines += [f"## {title} by noise level", "", _markdown(_flat(paper_table(table, metric))), ""]
        lines += [f"![{title} versus {noise} noise level]({chart.name})" for noise, chart in charts[metric]] + [""]
        if table["group"].nunique() > 1:
            lines += [f"## {title} by image group", "", _markdown(_flat(paper_table(table, metric, ("group",)))), ""]
    lines += _learned(table, info) + _errors(table) + ["## Config", "", "```yaml", yaml.safe_dump(info["config"], sort_keys=False).strip(),
                               "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return [path, *(chart for pairs in charts.values() for _, chart in pairs)]


def _run_facts(info: Mapping[str, Any]) -> list[str]:
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items() if version)
    weights = ", ".join(f"{label} `{entry['sha256']}`" for label, entry in info["weights"].items()) or "none"
    host = info["machine"]
    return [f"- Status: {info['status']}; started {info['started']}, finished {info['finished'] or '-'}",
            f"- Engine: {info['engine']}; machine: {host['host']}, {host['system']}, {host['cores']} cores",
            f"- Packages: {versions}",
            f"- Learned weights (sha256): {weights}",
            "- Protocol: BENCHMARK.md; seconds are per call, single-threaded on a worker unless run in process"]


def _flat(pivot: pd.DataFrame) -> pd.DataFrame:
    pivot = pivot.round(4)
    pivot.columns = [" ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in np.atleast_1d(c))
                     for c in pivot.columns]
    return pivot.reset_index()


def _learned(table: pd.DataFrame, info: Mapping[str, Any]) -> list[str]:
    if not info["weights"]:
        return []
    board = leaderboard(table)
    first = next(iter(dict.fromkeys(table["metric"])))
    models = pd.DataFrame([{"method": label, "architecture": entry["arch"], "parameters": entry["parameters"],
                            first: board.loc[label, f"{first} mean"], "median seconds": board.loc[label, "seconds"]}
                           for label, entry in info["weights"].items() if label in board.index])
    return ["## Learned models: size, quality and time", "",
            _markdown(models.sort_values("parameters").round(4)), ""]


def _errors(table: pd.DataFrame) -> list[str]:
    failed = table[table["error"].notna()].drop_duplicates(["group", "image", "noise", "level", "seed", "method"])
    if failed.empty:
        return []
    return ["## Errors", "", _markdown(failed[["image", "noise", "level", "seed", "method", "error"]]), ""]


def _markdown(frame: pd.DataFrame) -> str:
    cells = [[str(column) for column in frame.columns]]
    cells += [["" if pd.isna(value) else f"{value:g}" if isinstance(value, float) else str(value).replace("|", "\\|")
               for value in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join([lines[0], "|" + "---|" * len(frame.columns), *lines[1:]])


# --- Charts (drawn with Pillow: plotly's static export needs kaleido and a browser) --------------

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf"]
_SIZE, _MARGIN = (720, 440), (70, 40, 190, 50)  # left, top, right, bottom


def _charts(table: pd.DataFrame, path: Path) -> dict[str, list[tuple[str, Path]]]:
    charts: dict[str, list[tuple[str, Path]]] = {}
    for metric in dict.fromkeys(table["metric"]):
        for noise in dict.fromkeys(table["noise"]):
            rows = table[(table["metric"] == metric) & (table["noise"] == noise)]
            lines = {method: list(values.items()) for method, values in
                     rows.groupby(["method", "level"], sort=False)["value"].mean().unstack("level").iterrows()}
            chart = path.with_name(f"{path.stem}-{metric}-{noise}.png")
            title = f"{registry.get(metric, 'metric').title} versus {noise} noise level"
            line_chart(lines, title, chart)
            charts.setdefault(metric, []).append((noise, chart))
    return charts


def line_chart(lines: Mapping[str, list[tuple[float, float]]], title: str, path: Path) -> Path:
    """Draw one line per name through its ``(x, y)`` points, with axes, ticks and a legend; save a PNG."""
    points = [(x, y) for line in lines.values() for x, y in line if np.isfinite(y)]
    image = Image.new("RGB", _SIZE, "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    left, top, right, bottom = _MARGIN[0], _MARGIN[1], _SIZE[0] - _MARGIN[2], _SIZE[1] - _MARGIN[3]
    draw.text((left, 12), title, fill="black", font=font)
    draw.rectangle((left, top, right, bottom), outline="black")
    if points:
        xs, ys = [x for x, _ in points], [y for _, y in points]
        scale = _scaler((min(xs), max(xs)), (left + 20, right - 20), (min(ys), max(ys)), (bottom - 20, top + 20))
        _ticks(draw, font, scale, sorted(set(xs)), np.linspace(min(ys), max(ys), 5), (left, bottom))
        for number, (name, line) in enumerate(lines.items()):
            colour = _COLOURS[number % len(_COLOURS)]
            pixels = [scale(x, y) for x, y in line if np.isfinite(y)]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=2)
            for px, py in pixels:
                draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=colour)
            draw.line((right + 12, top + 8 + 18 * number, right + 32, top + 8 + 18 * number), fill=colour, width=3)
            draw.text((right + 38, top + 2 + 18 * number), str(name)[:24], fill="black", font=font)
    image.save(path)
    return path


def _scaler(x_range: tuple[float, float], x_pixels: tuple[float, float], y_range: tuple[float, float],
            y_pixels: tuple[float, float]):
    def to_pixels(x: float, y: float) -> tuple[float, float]:
        return (np.interp(x, x_range, x_pixels) if x_range[1] > x_range[0] else sum(x_pixels) / 2,
                np.interp(y, y_range, y_pixels) if y_range[1] > y_range[0] else sum(y_pixels) / 2)
    return to_pixels


def _ticks(draw: ImageDraw.ImageDraw, font: Any, scale: Any, xs: list[float], ys: np.ndarray,
           corner: tuple[int, int]) -> None:
    left, bottom = corner
    for x in xs:
        px, _ = scale(x, ys[0])
        draw.line((px, bottom, px, bottom + 5), fill="black")
        draw.text((px - 8, bottom + 8), f"{x:g}", fill="black", font=font)
    for y in dict.fromkeys(ys):
        _, py = scale(xs[0], y)
        draw.line((left - 5, py, left, py), fill="black")
        draw.text((4, py - 6), f"{y:.3g}", fill="black", font=font)
