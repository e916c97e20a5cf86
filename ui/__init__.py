"""Streamlit building blocks: session state, controls, caching and views shared by every page, and the
sections of each page (``noise_lab``, ``compare``, ``pipeline_page``, ``benchmark_config``, ``benchmark_results``,
``model_lab``), so that a page file reads as its layout.

This package and the scripts ``app.py`` / ``pages/*`` are the only code that imports streamlit;
``denoise_core`` stays UI-free.
"""
