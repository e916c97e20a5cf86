"""``report.html`` of a bundle: what ran where, the leaderboard, each metric by noise level, the figures (PNG or SVG
embedded) and every row, in one self-contained page that opens offline."""
from __future__ import annotations

import base64
import html
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from .. import registry
from ..benchmark import leaderboard, paper_table
from ..benchmark.charts import line_chart
from .recipe import ATOL, ESTIMATED_SIGMA, RTOL


@dataclass(frozen=True)
class Figure:
    """A figure of ``report.html``: encoded bytes, ``mime`` ``image/png`` or ``image/svg+xml``."""

    title: str
    data: bytes
    mime: str = "image/png"


def report_html(manifest: Mapping[str, Any], rows: pd.DataFrame, figures: Sequence[Figure] = ()) -> str:
    """A self-contained page: what ran where, the leaderboard, each metric by noise level, the figures, every row."""
    figures = [*figures, *level_figures(rows)]
    parts = [f"<h1>{html.escape(manifest['kind'].capitalize())} bundle</h1>", _facts(manifest),
             "<h2>Leaderboard</h2>", board(rows).round(4).to_html()]
    for metric in dict.fromkeys(rows["metric"]):
        parts += [f"<h2>{html.escape(_metric_title(metric))} by noise level</h2>",
                  paper_table(rows, metric).round(4).to_html()]
    parts += [f"<figure>{_embedded(item)}<figcaption>{html.escape(item.title)}</figcaption></figure>" for item in figures]
    parts += ["<details><summary>Every row (results.csv)</summary>", rows.to_html(index=False), "</details>"]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#111} table{border-collapse:collapse;"
             "font-size:13px} td,th{border:1px solid #ccc;padding:2px 6px} img,svg{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(manifest['kind'])} bundle</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def board(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per method, best first (``benchmark.leaderboard``); rows without a clean reference give each method's
    mean estimated σ left instead."""
    scored = rows[rows["metric"] != ESTIMATED_SIGMA]
    if len(scored):
        return leaderboard(scored)
    return rows.groupby("method", sort=False)["value"].mean().to_frame(_metric_title(ESTIMATED_SIGMA))


def _facts(manifest: Mapping[str, Any]) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in manifest["versions"].items() if version)
    host = manifest["machine"]
    weights = ", ".join(f"{label}: {entry['weights_sha256']}" for label, entry in manifest["methods"].items()
                        if entry["weights_sha256"]) or "none"
    items = [f"Made {manifest['created']} with Denoise Workbench {manifest['workbench']}; {versions}",
             f"Machine: {host['system']}, {host['cores']} cores; threads {json.dumps(host['threads'])}",
             f"Seeds: {', '.join(map(str, manifest['seeds']))}",
             f"Learned weights (sha256): {weights}",
             "Check: <code>python -m denoise_core bundle verify FILE.zip</code> recomputes every number "
             f"(match: {html.escape(manifest['tolerance']['rule'])}, rtol {RTOL:g}, atol {ATOL:g})"]
    return "<ul>" + "".join(f"<li>{item if item.startswith('Check') else html.escape(item)}</li>" for item in items) + "</ul>"


def _embedded(item: Figure) -> str:
    if item.mime == "image/svg+xml":
        return item.data.decode("utf-8")
    return f"<img alt='{html.escape(item.title)}' src='data:{item.mime};base64,{base64.b64encode(item.data).decode()}'>"


def _metric_title(metric: str) -> str:
    return "Estimated σ left" if metric == ESTIMATED_SIGMA else registry.get(metric, "metric").title


def level_figures(rows: pd.DataFrame) -> list[Figure]:
    """Each metric against the level of each noise swept over more than one level (``charts.line_chart``)."""
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for (metric, noise), part in rows.groupby(["metric", "noise"], sort=False):
            if part["level"].nunique() < 2:
                continue
            means = part.groupby(["method", "level"], sort=False)["value"].mean().unstack("level")
            title = f"{_metric_title(metric)} versus {noise} noise level"
            path = line_chart({method: list(values.items()) for method, values in means.iterrows()}, title,
                              Path(folder) / "chart.png")
            figures.append(Figure(title, path.read_bytes()))
    return figures
