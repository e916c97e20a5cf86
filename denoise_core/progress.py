"""Progress reported from deep inside long work to whoever listens (a bar in the app), without threading a
callback through every signature: ``report(fraction)`` is a no-op unless a ``listening`` block is open."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_LISTENER: ContextVar[Callable[[float], None] | None] = ContextVar("progress_listener", default=None)


def report(fraction: float) -> None:
    """Tell the listener, if any, that ``fraction`` (0–1) of the current work is done."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(min(max(float(fraction), 0.0), 1.0))


@contextmanager
def listening(listener: Callable[[float], None]) -> Iterator[None]:
    """Within the block, ``report`` calls ``listener(fraction)``; a listener may raise to stop the work."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
