"""The reveal's figure as SVG text: per noise type, each method's strength by eye with its interval, and its
rank by each metric beside it."""
from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from .. import registry

EYE, METRIC_COLOURS = "#0072B2", ["#E69F00", "#009E73", "#D55E00", "#CC79A7"]  # Okabe and Ito's palette
ROW, LABEL, PLOT, RANKS = 26, 230, 320, 150


def _title(name: str, kind: str) -> str:
    model, _, place = name.partition(" #")
    found = [m.title for m in registry.methods(kind) if m.name == model]
    return (found[0] if found else name) + (f" #{place}" if place else "")


def _signed(value: float) -> str:
    return f"{value:+.2f}" if np.isfinite(value) else "n/a"


def ranking_svg(ranking: pd.DataFrame, taus: pd.DataFrame) -> str:
    """An SVG figure of ``reveal``'s two tables: one panel per noise type, methods best by eye first."""
    metrics = [m for m in ("psnr", "ssim", "lpips") if m in ranking.columns]
    width = LABEL + PLOT + RANKS * len(metrics) + 20
    finite = ranking[["strength", "low", "high"]].to_numpy(dtype=float)
    low, high = np.nanmin(finite), np.nanmax(finite)
    span = max(high - low, 1e-6)
    x = lambda value: LABEL + 10 + (value - low) / span * (PLOT - 20)  # noqa: E731
    parts, top = [], 10
    for noise, panel in ranking.groupby("noise", sort=False):
        tau = taus[taus["noise"] == noise].set_index("metric")["kendall_tau"]
        heading = "All noise types" if noise == "all" else _title(noise, "noise")
        parts.append(f'<text x="10" y="{top + 16}" font-weight="bold">{escape(heading)}</text>')
        parts.append(f'<text x="{LABEL + 10}" y="{top + 36}" fill="{EYE}">strength by eye (95 % interval)</text>')
        for number, metric in enumerate(metrics):
            value = tau.get(metric, np.nan)
            parts.append(f'<text x="{LABEL + PLOT + RANKS * number}" y="{top + 36}" fill="{METRIC_COLOURS[number]}">'
                         f'{metric.upper()}: τ = {_signed(value)}</text>')
        top += 44
        parts.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{top + ROW * len(panel)}" stroke="#999" '
                     'stroke-dasharray="4 3"/>')  # strength 0: the average method
        for _, row in panel.sort_values("eye_rank").iterrows():
            middle = top + ROW / 2
            parts.append(f'<text x="10" y="{middle + 5}">{int(row["eye_rank"])}. '
                         f'{escape(_title(row["method"], "denoiser"))}</text>')
            if np.isfinite(row["low"]):
                parts.append(f'<line x1="{x(row["low"]):.1f}" x2="{x(row["high"]):.1f}" y1="{middle}" y2="{middle}" '
                             f'stroke="{EYE}" stroke-width="3"/>')
            parts.append(f'<circle cx="{x(row["strength"]):.1f}" cy="{middle}" r="6" fill="{EYE}"/>')
            for number, metric in enumerate(metrics):
                parts.append(f'<text x="{LABEL + PLOT + RANKS * number}" y="{middle + 5}" '
                             f'fill="{METRIC_COLOURS[number]}">rank {int(row[f"{metric}_rank"])}</text>')
            top += ROW
        top += 32
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top}" font-family="sans-serif" '
            f'font-size="14"><rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>')
