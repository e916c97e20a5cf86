"""The one way the library times work: wall-clock seconds of a call."""
from __future__ import annotations

import statistics
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def timed(call: Callable[[], T], repeats: int = 1) -> tuple[T, float]:
    """``call()``'s result and its wall time in seconds: with ``repeats`` > 1, one untimed warm-up call,
    then the median of ``repeats`` timed calls (the last call's result is returned)."""
    if repeats > 1:
        call()
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)
