"""Results kept in the server's memory for every session, bounded by bytes, not by a count of entries.

``@memo.cached()`` keys a function's result on its name and its arguments, except those whose name starts
with ``_`` (each travels with a hash argument that identifies it, as in ``ui.cache``). Arrays are shared
read-only, never copied; the least recently used results go first once their bytes pass the limit
(``$DENOISE_WORKBENCH_MEMORY_MB``, 2048 by default), so a class of thirty sessions fits the server.
"""
from __future__ import annotations

import functools
import inspect
import os
import threading
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import streamlit as st

LIMIT_VAR = "DENOISE_WORKBENCH_MEMORY_MB"


def limit_bytes() -> int:
    """The memory the shared results may take: ``$DENOISE_WORKBENCH_MEMORY_MB`` megabytes, else 2048."""
    try:
        return max(0, int(float(os.environ.get(LIMIT_VAR, "2048")) * 1e6))
    except ValueError:
        return int(2048e6)


def size(value: Any) -> int:
    """Bytes held by a result: its arrays, bytes and strings (containers walked), else a small constant."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return sum(map(size, value))
    if isinstance(value, dict):
        return sum(size(v) for v in value.values())
    return 64


def frozen(value: Any) -> Any:
    """``value`` with its arrays made read-only, so that no session can change what others are served."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for item in value:
            frozen(item)
    return value


class Store:
    """Least recently used results under a byte limit, safe across the server's session threads."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bool, Any]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key][0]

    def put(self, key: tuple, value: Any) -> None:
        nbytes, limit = size(value), limit_bytes()
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            if nbytes > limit:
                return  # larger than the whole budget: computed, used, not kept
            self._items[key] = (value, nbytes)
            self._bytes += nbytes
            while self._bytes > limit:
                self._bytes -= self._items.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes


STORE = Store()


def cached(spinner: str | None = None) -> Callable[[Callable], Callable]:
    """Decorator: the function's results in ``STORE``; ``spinner`` is shown while one is computed."""
    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = (func.__module__, func.__qualname__,
                   *((name, value) for name, value in bound.arguments.items() if not name.startswith("_")))
            found, value = STORE.get(key)
            if found:
                return value
            if spinner:
                with st.spinner(spinner):
                    value = frozen(func(*args, **kwargs))
            else:
                value = frozen(func(*args, **kwargs))
            STORE.put(key, value)
            return value

        return wrapper
    return decorate
