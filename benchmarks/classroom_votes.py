"""Votes stored per second with 10 voters at once (not a unit test).

Setting: a fresh results store (SQLite, WAL) in a temporary folder; a vote round on the 128×128 CT slice,
Gaussian noise σ = 25/255, seed 0, median against mean; every voter a thread, as the sessions of one
Streamlit server are.

1. The store: each voter sends ``--pairs`` votes through ``classroom.record_vote`` (each vote one
   transaction, a new connection each, as the page does), each sent twice (a double click): the second
   must be refused as a repeat.
2. The page: each voter is an AppTest session of the Vote page that clicks "A looks better" ``--page-pairs``
   times (every vote a rerun of the page's script on the server; the browser's drawing not counted).

Prints votes stored per second, the median and 95th-percentile seconds per vote, and checks that every vote
was stored once. ``--smoke``: 2 voters, 3 votes each.

    python benchmarks/classroom_votes.py [--voters 10] [--pairs 100] [--page-pairs 10] [--smoke]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def in_threads(work, voters: int) -> tuple[float, list[float]]:
    """Run ``work(voter, seconds)`` for every voter at once; (wall seconds, every vote's seconds)."""
    seconds: list[float] = []
    errors: list[BaseException] = []

    def one(voter: int) -> None:
        try:
            work(voter, seconds)
        except BaseException as error:  # reported after the others finished
            errors.append(error)

    threads = [threading.Thread(target=one, args=(voter,)) for voter in range(voters)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start, seconds


def report(what: str, stored: int, expected: int, wall: float, seconds: list[float]) -> None:
    verdict = "none lost, none twice" if stored == expected else "MISMATCH"
    print(f"{what}: {stored} votes stored of {expected} sent once ({verdict}); "
          f"{stored / wall:.0f} votes/s; per vote median {np.median(seconds) * 1000:.1f} ms, "
          f"95th percentile {np.percentile(seconds, 95) * 1000:.1f} ms; wall {wall:.2f} s")
    if stored != expected:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=100, help="votes per voter through the store")
    parser.add_argument("--page-pairs", type=int, default=10, help="votes per voter through the page")
    parser.add_argument("--smoke", action="store_true", help="2 voters, 3 votes each")
    args = parser.parse_args()
    voters, pairs, page_pairs = (2, 3, 3) if args.smoke else (args.voters, args.pairs, args.page_pairs)
    folder = Path(tempfile.mkdtemp(prefix="classroom-votes-"))
    os.environ["DENOISE_WORKBENCH_DB"] = str(folder / "results.sqlite")
    os.environ["DENOISE_WORKBENCH_CACHE"] = str(folder / "cache")
    os.chdir(ROOT)

    from denoise_core.benchmark.store import Store
    from denoise_core.classroom import Round, open_round, record_vote, schedule

    store = Store()

    def vote_round(count: int) -> Round:
        return open_round(store, Round(kind="vote", images=("ct",), noises=({"model": "gaussian", "params": {}},),
                                       methods=("median", "mean"), pairs=count))

    print(f"{voters} voters at once (threads), store {store.path}, cpus {os.cpu_count()}")
    direct = vote_round(pairs)

    def by_store(voter: int, seconds: list[float]) -> None:
        for pair in schedule(direct, f"voter-{voter}"):
            start = time.perf_counter()
            assert record_vote(store, direct, f"voter-{voter}", pair, "a")
            seconds.append(time.perf_counter() - start)
            assert not record_vote(store, direct, f"voter-{voter}", pair, "a")  # the double click: refused

    wall, seconds = in_threads(by_store, voters)
    report("store", len(store.votes(direct.code)), voters * pairs, wall, seconds)

    from streamlit.testing.v1 import AppTest
    paged = vote_round(page_pairs)
    sessions = []
    for _ in range(voters):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page("pages/9_Vote.py")
        at.query_params.update({"round": paged.code, "img": "ct"})
        sessions.append(at.run())  # the page open, its images computed: only the votes are timed

    def by_page(voter: int, seconds: list[float]) -> None:
        for _ in range(page_pairs):
            start = time.perf_counter()
            sessions[voter].button(key="w.vote.a").click().run()
            seconds.append(time.perf_counter() - start)

    from apptest_threads import one_server
    with one_server():
        wall, seconds = in_threads(by_page, voters)
    report("page", len(store.votes(paged.code)), voters * page_pairs, wall, seconds)


if __name__ == "__main__":
    main()
