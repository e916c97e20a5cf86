"""Reproducible bundles: one zip that holds a comparison's numbers, what made them, and what remakes them.

Any comparison (Denoise & Compare, a benchmark run, a sweep, a vote round) hands its tidy rows
(``benchmark.COLUMNS``: image × noise × level × seed × method × metric, with seconds and the parameters
used) to :func:`write_bundle`. The zip holds:

``manifest.json``
    ``schema`` (``SCHEMA``), ``kind``, the workbench and package versions, the machine and its threads, the
    seeds, the noise recipes, each method (registered name, the parameters it ran with, the sha256 of its
    weights when learned), each input (file, sha256, sample name), each output's sha256, the tolerance of
    :func:`verify_bundle` and the ``context`` of the comparison (the app's view, a benchmark's config).
``results.csv``
    The tidy rows.
``inputs/``
    The clean images (the noisy ones when there is no clean reference), lossless: PNG or 16-bit TIFF when
    they read back bit for bit, else float32 ``.npy``.
``outputs/``
    The output images as the source: DICOM (de-identified when a key is given), 16-bit TIFF in the
    source's units, or PNG.
``report.html``
    The tables and the figures (PNG or SVG embedded): it opens offline.
``attachments/``
    What else the comparison keeps as it is (a vote round's votes); listed with its sha256, not verified.

:func:`verify_bundle` recomputes every number of ``results.csv`` from its input and its row's recipe
(``add_noise(input, noise, noise_params, seed)``, then ``denoise(noisy, method, params, auto=False)``, then the
metric). It reads the zip member by member within ``MAX_MEMBER_BYTES`` (never unpacking to disk) and refuses
paths that leave the bundle, a schema it does not know, and a method or weights file this machine lacks, each
with one line (``BundleError``).
"""
from .read import MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES, Bundle, read_bundle
from .recipe import ATOL, ESTIMATED_SIGMA, KINDS, NO_NOISE, NOISY, RTOL, SCHEMA, workbench_version
from .report import Figure, board, report_html
from .verify import Verification, check_reproducible, verify_bundle
from .write import Input, Shot, benchmark_bundle, compare_bundle, compare_rows, output_file, write_bundle

__all__ = ["ATOL", "ESTIMATED_SIGMA", "KINDS", "MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "NOISY", "NO_NOISE",
           "RTOL", "SCHEMA", "Bundle", "Figure", "Input", "Shot", "Verification", "benchmark_bundle", "board", "check_reproducible",
           "compare_bundle", "compare_rows", "output_file", "read_bundle", "report_html", "verify_bundle",
           "workbench_version", "write_bundle"]
