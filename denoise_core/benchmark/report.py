"""Exports of a stored run: its tidy rows as CSV or Parquet, or a Markdown report with PNG charts."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import yaml

from .. import registry
from .charts import line_chart
from .results import leaderboard, paper_table
from .store import Store, StoreError

EXPORT_FORMATS = ("csv", "parquet", "md")


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
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"export format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path) if path is not None else Path(f"run-{run_id}.{fmt}")
    table, info = store.results(run_id), store.info(run_id)
    try:
        return _write(table, info, fmt, path)
    except OSError as error:
        raise StoreError(f"{path}: cannot write the export ({error.strerror or error}); name a file in an existing, "
                         "writable folder") from None


def _write(table: pd.DataFrame, info: dict[str, Any], fmt: str, path: Path) -> list[Path]:
    if fmt == "csv":
        table.to_csv(path, index=False)
        return [path]
    if fmt == "parquet":
        table.attrs = {"run": info}
        table.to_parquet(path, index=False)
        return [path]
    return write_report(table, info, path)


def export_format(path: str | Path) -> str:
    """The export format a file name asks for (its suffix), or ``StoreError`` naming the file."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"{path}: the file name's suffix names no export format; name a "
                         f"{', '.join('.' + f for f in EXPORT_FORMATS)} file")
    return fmt


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


def _charts(table: pd.DataFrame, path: Path) -> dict[str, list[tuple[str, Path]]]:
    charts: dict[str, list[tuple[str, Path]]] = {}
    for metric in dict.fromkeys(table["metric"]):
        for noise in dict.fromkeys(table["noise"]):
            rows = table[(table["metric"] == metric) & (table["noise"] == noise)]
            lines = {method: list(values.items()) for method, values in
                     rows.groupby(["method", "level"], sort=False)["value"].mean().unstack("level").iterrows()}
            chart = path.with_name(f"{path.stem}-{file_stem(metric)}-{file_stem(noise)}.png")
            title = f"{registry.get(metric, 'metric').title} versus {noise} noise level"
            line_chart(lines, title, chart)
            charts.setdefault(metric, []).append((noise, chart))
    return charts


def file_stem(text: str) -> str:
    """``text`` made safe as part of a file name: letters, digits, ``.``, ``_`` and ``-`` only, no leading dot."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).lstrip(".") or "_"
