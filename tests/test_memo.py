"""The results every session shares: bounded by bytes, least recently used first out, arrays read-only."""
import numpy as np
import pytest

from ui import memo


@pytest.fixture(autouse=True)
def empty(monkeypatch):
    monkeypatch.setenv(memo.LIMIT_VAR, "1")  # one megabyte
    memo.STORE.clear()
    yield
    memo.STORE.clear()


def test_results_are_kept_within_the_byte_limit_least_recently_used_first_out():
    calls = []

    @memo.cached()
    def blank(key: str, _unhashed: object = None) -> np.ndarray:
        calls.append(key)
        return np.zeros(300_000 // 4, np.float32)  # 0.3 MB

    for key in "abc":
        blank(key)
    blank("a", _unhashed=object())  # served from memory: arguments starting with _ are not part of the key
    blank("d")  # 1.2 MB in all: the least recently used one ("b") goes
    assert memo.STORE.bytes <= 1_000_000 and calls == ["a", "b", "c", "d"]
    blank("a"), blank("c"), blank("b")
    assert calls == ["a", "b", "c", "d", "b"]


def test_a_shared_array_cannot_be_changed_by_a_session_and_a_huge_one_is_not_kept():
    @memo.cached()
    def image(side: int) -> np.ndarray:
        return np.ones((side, side), np.float32)

    shared = image(100)
    with pytest.raises(ValueError):
        shared[0, 0] = 5  # read-only: another session is served the same array
    assert image(100) is shared
    image(1000)  # 4 MB, more than the whole limit: returned, not kept
    assert memo.STORE.bytes == shared.nbytes
