"""Streamlit building blocks shared by every page: session state, controls, caching, views.

This package and the scripts ``app.py`` / ``pages/*`` are the only code that imports streamlit;
``denoise_core`` stays UI-free.
"""
