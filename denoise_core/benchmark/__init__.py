"""Benchmarks: one tidy table of numbers a team can trust.

``protocol`` makes one case noisy, restores and scores it (``evaluate`` is the ``eval`` command);
``config`` checks a config of image sources, noise levels, methods, metrics and seeds; ``images``
reads a run's clean images; ``tasks`` measures one image × method into tidy rows; ``runs`` runs a
config in process or on Dask; ``results`` reads the table (leaderboard, the papers' tables, curves
against the noise level, time against quality). ``store`` keeps every run in SQLite and ``report``
exports one (CSV, Parquet, or Markdown with the PNG line charts of ``charts``); they are imported from
their modules, so a run without a store loads neither. ``sweep`` runs one noise level over a range as a config
and reads its statistics (95 % intervals, paired tests, crossovers); ``mismatch`` builds the three mismatch
experiments from it.
"""
from .config import NAMED_SETS, load_config
from .images import checked_folder, run_images
from .protocol import evaluate, measure_case, noisy_protocol, summarise
from .results import COLUMNS, higher_is_better, leaderboard, level_curves, paper_table, time_quality
from .runs import run

__all__ = ["COLUMNS", "NAMED_SETS", "checked_folder", "evaluate", "higher_is_better", "leaderboard", "level_curves",
           "load_config", "measure_case", "noisy_protocol", "paper_table", "run", "run_images", "summarise",
           "time_quality"]
