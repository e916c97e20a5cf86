"""AppTest sessions that run at once in threads, as the sessions of one Streamlit server do.

Each ``AppTest.run`` installs process-wide objects at its start and removes them at its end (a mock
``Runtime`` instance, the pages folder flag of ``PagesManager``, a patched ``config.get_option``); a server
sets them once. Two runs at once would take each other's away halfway. ``one_server()`` keeps what a run
installs in place while it lasts (a later run's may replace it, never remove it) and restores everything
on leaving.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


class _Kept:
    """Stands for a class inside ``streamlit.testing.v1.app_test``: attributes set to None are kept as they are."""

    def __init__(self, real: type) -> None:
        object.__setattr__(self, "_real", real)

    def __call__(self, *args, **kwargs):
        return self._real(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def __setattr__(self, name: str, value) -> None:
        if value is not None:
            setattr(self._real, name, value)


@contextlib.contextmanager
def one_server() -> Iterator[None]:
    """While inside, AppTest runs in several threads at once share one runtime instead of removing each other's."""
    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    saved = (Runtime._instance, PagesManager.uses_pages_directory, config.get_option)
    app_test.Runtime, app_test.PagesManager = _Kept(Runtime), _Kept(PagesManager)
    try:
        yield
    finally:
        app_test.Runtime, app_test.PagesManager = Runtime, PagesManager
        Runtime._instance, PagesManager.uses_pages_directory, config.get_option = saved
