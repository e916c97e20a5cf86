"""Benchmark: build or load a config, run it with progress, read the leaderboard and curves, revisit past runs."""
import os

import streamlit as st

from denoise_core.benchmark.store import Store
from ui import benchmark_config, benchmark_results, bundles, classroom, page

page.setup("Benchmark", icon=":material/leaderboard:")
store = page.guarded(Store)
with st.sidebar:
    st.markdown("### Benchmark config")
    config = benchmark_config.chosen_config()
    workers = st.number_input("Worker processes (0 = in this app)", 0, 64, os.cpu_count() or 1, key="w.bench.workers")
    start = st.button("Run benchmark", type="primary", key="w.bench.run", width="stretch",
                      disabled=config is None or not classroom.lecturer_only("Running a benchmark"))

st.title("Benchmark")
st.caption("Protocol of BENCHMARK.md: seeded noise per image in sorted order, unclipped Gaussian noise, metrics on "
           "the output clipped to [0, 1]. Every run is kept in the results store.")
if start and config is not None:
    benchmark_results.run_and_show(config, workers, store)

runs = store.runs()
if runs.empty:
    st.info("No runs yet: build a config in the sidebar and run it.")
    st.stop()
history, compare = st.tabs(["Results", "Compare two runs"])
with history:
    shown = benchmark_results.pick_run(runs)
    benchmark_results.show_run(store, shown)
    benchmark_results.show_report_and_delete(store, runs, shown)
    bundles.benchmark_download(store, runs, shown)
with compare:
    benchmark_results.show_comparison(store, runs)
