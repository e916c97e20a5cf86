"""The tidy table of a run and what is read from it: the leaderboard, the papers' tables, the curves against the
noise level, time against quality."""
from __future__ import annotations

import pandas as pd

from .. import registry

COLUMNS = ["group", "image", "seed", "noise", "level", "noise_params", "method", "params", "metric", "value",
           "seconds", "error"]
"""The tidy table: ``noise_params`` and ``params`` are JSON; ``error`` is empty unless the case failed."""

ORDER = ["group", "image", "noise", "level", "seed", "method", "metric"]
CASE = ORDER[:-1]
"""The columns of one measured case (its rows differ only in the metric)."""


def tidy(rows: list[dict]) -> pd.DataFrame:
    """Rows (dicts with ``COLUMNS``) as the benchmark's table, typed and in its canonical order."""
    table = pd.DataFrame(list(rows), columns=COLUMNS)
    table = table.astype({"seed": "int64", "level": "float64", "value": "float64", "seconds": "float64"})
    return table.sort_values(ORDER, kind="stable").reset_index(drop=True)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of the registered ``metric`` is better (PSNR, SSIM) or worse (MSE)."""
    return registry.get(metric, "metric").higher_is_better is not False


def leaderboard(table: pd.DataFrame) -> pd.DataFrame:
    """One row per method, best first: mean and std of each metric over every case, and timing.

    Columns ``<metric> mean`` and ``<metric> std`` for each metric of the table, then ``seconds``
    (median per case), ``cases`` (scored by the ranking metric) and ``errors`` (cases where any metric
    failed). Sorted by the ranking metric: the first metric with a value (a metric that failed everywhere,
    such as LPIPS without its weights, ranks nothing).
    """
    metrics = list(dict.fromkeys(table["metric"]))
    board = pd.DataFrame(index=pd.Index(list(dict.fromkeys(table["method"])), name="method"))
    for metric in metrics:
        values = table[table["metric"] == metric].groupby("method")["value"]
        board[f"{metric} mean"], board[f"{metric} std"] = values.mean(), values.std()
    if not metrics:
        return board
    ranking = next((m for m in metrics if board[f"{m} mean"].notna().any()), metrics[0])
    ranked = table[table["metric"] == ranking].groupby("method")
    failed = table[table["error"].notna()].drop_duplicates(CASE).groupby("method").size()
    board["seconds"], board["cases"] = ranked["seconds"].median(), ranked["value"].count()
    board["errors"] = failed.reindex(board.index, fill_value=0)
    return board.sort_values(f"{ranking} mean", ascending=not higher_is_better(ranking))


def paper_table(table: pd.DataFrame, metric: str = "psnr", columns: tuple[str, ...] = ("noise", "level")) -> pd.DataFrame:
    """Mean ``metric`` with methods as rows and ``columns`` (noise level, ``group``, ...) as columns: the papers' layout."""
    rows = table[table["metric"] == metric]
    return rows.pivot_table(index="method", columns=list(columns), values="value", aggfunc="mean", sort=False)


def level_curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of each metric per method, noise and level: quality against the noise level, one row a point."""
    return table.groupby(["method", "noise", "level", "metric"], as_index=False)["value"].agg(["mean", "std"])


def time_quality(table: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """Per method: mean ``metric``, median seconds and ``pareto`` (no other method is both faster and better)."""
    rows = table[table["metric"] == metric].groupby("method", sort=False)
    points = pd.DataFrame({metric: rows["value"].mean(), "seconds": rows["seconds"].median()}).dropna()
    quality = points[metric] if higher_is_better(metric) else -points[metric]
    points["pareto"] = [not ((points["seconds"] <= s) & (quality >= q) & ((points["seconds"] < s) | (quality > q))).any()
                        for s, q in zip(points["seconds"], quality)]
    return points
