"""The classroom's library: class codes, each voter's pairs, votes kept once under concurrent writers, the
Bradley–Terry ranking, Kendall τ, and challenge submissions scored against the hidden clean image."""
import itertools
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from denoise_core import apply, metrics
from denoise_core.benchmark.store import Store, StoreError
from denoise_core.classroom import (Round, bradley_terry, classroom_mode, kendall_tau, leaderboard, open_round,
                                    passcode_matches, record_vote, reveal, schedule, submit, win_rates)
from denoise_core.classroom.rounds import CODE_LENGTH, CODE_LETTERS, check, load_round, outputs
from denoise_core.errors import InvalidParameterError

NOISE = ({"model": "gaussian", "params": {"sigma": 0.1}},)
METHODS = ("median", "gaussian", "mean")


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "results.sqlite")


@pytest.fixture
def vote_round(store) -> Round:
    return open_round(store, Round(kind="vote", images=("ct",), noises=NOISE, methods=METHODS, pairs=7, seed=3))


def test_a_round_gets_a_short_code_and_reads_back(store, vote_round):
    assert len(vote_round.code) == CODE_LENGTH and set(vote_round.code) <= set(CODE_LETTERS)
    again = load_round(store, f" {vote_round.code.lower()} ")  # as a student types it
    assert again == vote_round
    assert again.noises[0]["params"] == {"sigma": 0.1, "clip": True}  # resolved when opened
    with pytest.raises(StoreError, match="no round with class code 'XXXXX'"):
        load_round(store, "xxxxx")


@pytest.mark.parametrize("change, message", [({"methods": ("median",)}, "at least two methods"),
                                             ({"images": ("nope",)}, "not a sample image"),
                                             ({"pairs": 0}, "1 to 200"), ({"crop": (0, 0, 8)}, "16 or more")])
def test_a_round_that_cannot_run_is_refused(change, message):
    fields = {"kind": "vote", "images": ("ct",), "noises": NOISE, "methods": METHODS, **change}
    with pytest.raises(InvalidParameterError, match=message):
        check(Round(**fields))


def test_each_voter_gets_every_pair_once_before_any_again_in_an_own_order(vote_round):
    first, second = schedule(vote_round, "voter-1"), schedule(vote_round, "voter-2")
    assert first == schedule(vote_round, "voter-1")  # the same voter coming back sees the same pairs
    assert [(p.a, p.b) for p in first] != [(p.a, p.b) for p in second]
    assert [p.index for p in first] == list(range(7))
    covered = {frozenset((p.a, p.b)) for p in first[:3]}  # 3 methods: 3 comparisons, each once first
    assert covered == {frozenset(pair) for pair in itertools.combinations(METHODS, 2)}
    sides = [(p.a, p.b) for voter in range(20) for p in schedule(vote_round, f"v{voter}")]
    assert ("median", "gaussian") in sides and ("gaussian", "median") in sides  # sides drawn at random


def test_the_store_is_in_wal_mode_and_a_resent_vote_is_kept_once(store, vote_round):
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    pair = schedule(vote_round, "v")[0]
    assert record_vote(store, vote_round, "v", pair, "a") is True
    assert record_vote(store, vote_round, "v", pair, "a") is False
    assert len(store.votes(vote_round.code)) == 1
    with pytest.raises(InvalidParameterError, match="use 'a', 'b' or 'same'"):
        record_vote(store, vote_round, "v", pair, "left")


def test_ten_voters_writing_at_once_lose_no_vote_and_store_none_twice(store, vote_round):
    votes = 7

    def vote(voter: str) -> None:
        own = Store(store.path)  # each session opens the file itself
        for pair in schedule(vote_round, voter):
            for _ in range(2):  # every vote sent twice, as a double click does
                record_vote(own, vote_round, voter, pair, "same")

    threads = [threading.Thread(target=vote, args=(f"v{i}",)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = store.votes(vote_round.code)
    assert len(stored) == 10 * votes
    assert stored.groupby("voter").size().eq(votes).all()


def simulated_votes(strengths: dict[str, float], count: int, seed: int = 0) -> pd.DataFrame:
    """``count`` votes between random pairs, each won with the Bradley–Terry probability of ``strengths``."""
    rng = np.random.default_rng(seed)
    names = list(strengths)
    rows = []
    for _ in range(count):
        a, b = rng.choice(names, 2, replace=False)
        p_a = 1 / (1 + np.exp(strengths[b] - strengths[a]))
        rows.append({"a": a, "b": b, "choice": "a" if rng.random() < p_a else "b", "condition": 0})
    return pd.DataFrame(rows)


def test_bradley_terry_recovers_a_known_ordering_with_intervals_that_hold_it():
    truth = {"w": 1.5, "x": 0.5, "y": -0.5, "z": -1.5}  # mean 0, as the fit reports
    fit = bradley_terry(simulated_votes(truth, 800), list("zyxw"))
    assert list(fit.index) == ["w", "x", "y", "z"]
    for name, value in truth.items():
        assert fit.loc[name, "low"] <= value <= fit.loc[name, "high"], (name, fit.loc[name].to_dict())
        assert abs(fit.loc[name, "strength"] - value) < 0.3
    assert (fit["high"] - fit["low"]).max() < 0.8  # 800 votes: intervals narrow enough to separate steps of 1


def test_a_method_that_wins_every_vote_stays_finite_and_ties_count_half():
    votes = pd.DataFrame({"a": ["p", "p", "q", "p"], "b": ["q", "r", "r", "q"], "choice": ["a", "a", "same", "b"]})
    fit = bradley_terry(votes, ["p", "q", "r"], resamples=50)
    assert np.isfinite(fit.to_numpy()).all() and list(fit.index)[0] == "p"
    rates = win_rates(votes, ["p", "q", "r"])
    assert rates.loc["p"].to_dict() == {"votes": 3, "wins": 2, "same": 0, "losses": 1, "win_rate": 2 / 3}
    assert rates.loc["q", "win_rate"] == pytest.approx((1 + 0.5) / 3)  # beat p once, one "same" with r
    assert rates.loc["r", "win_rate"] == pytest.approx(0.5 / 2)


@pytest.mark.parametrize("first, second, tau", [([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
                                                ([1, 2, 3, 4], [4, 3, 2, 1], -1.0),
                                                ([1, 2, 3, 4], [1, 3, 2, 4], 2 / 3),  # 5 concordant, 1 discordant
                                                ([1, 2, 3], [1, 1, 2], 2 / np.sqrt(6))])  # τ-b with a tie
def test_kendall_tau_on_constructed_rankings(first, second, tau):
    assert kendall_tau(first, second) == pytest.approx(tau)


def test_reveal_sets_the_eye_beside_each_metric_per_noise_type():
    round_ = Round(kind="vote", images=("ct",), noises=NOISE + ({"model": "salt_pepper", "params": {}},),
                   methods=("p", "q", "r"), code="ABCDE")
    votes = simulated_votes({"p": 2.0, "q": 0.0, "r": -2.0}, 300)
    votes["condition"] = np.arange(300) % 2  # conditions 0 (gaussian) and 1 (salt and pepper)
    scores = [{"condition": c, "image": "ct", "noise": noise, "method": m, "psnr": psnr, "ssim": ssim, "lpips": lp}
              for c, noise in enumerate(["gaussian", "salt_pepper"])
              for m, psnr, ssim, lp in [("p", 30, 0.7, 0.1), ("q", 28, 0.9, 0.2), ("r", 29, 0.5, 0.3)]]
    ranking, taus = reveal(round_, votes, scores, resamples=20)
    assert list(ranking["noise"].unique()) == ["gaussian", "salt_pepper", "all"]
    gaussian = ranking[ranking["noise"] == "gaussian"].set_index("method")
    assert gaussian["eye_rank"].to_dict() == {"p": 1, "q": 2, "r": 3}
    assert gaussian["psnr_rank"].to_dict() == {"p": 1, "r": 2, "q": 3}
    tau = taus.set_index(["noise", "metric"])["kendall_tau"]
    assert tau["gaussian", "lpips"] == pytest.approx(1.0)  # lower LPIPS is better: the eye's order
    assert tau["gaussian", "psnr"] == pytest.approx(1 / 3)  # p>q>r against p>r>q: one pair of three swapped
    assert tau["all", "ssim"] == pytest.approx(1 / 3)  # q>p>r


def test_a_challenge_submission_resent_is_stored_once_and_scored_against_the_hidden_clean_image(store):
    round_ = open_round(store, Round(kind="challenge", images=("ct",), noises=NOISE, seed=5))
    stored, entry = submit(store, round_, "s1", "Ada", "median", {"size": 5})
    again, _ = submit(store, round_, "s1", "Ada", "median", {"size": 5})
    assert (stored, again) == (True, False)
    clean, noisy, _, _ = outputs(round_, 0)
    expected = metrics.psnr(clean, apply.denoise(noisy, "median", {"size": 5}, auto=False))
    assert entry["psnr"] == pytest.approx(expected, abs=1e-9)
    assert entry["psnr"] > metrics.psnr(clean, noisy) + 3  # against the clean image, not the noisy one
    submit(store, round_, "s2", "Bo", "mean", {"size": 3})
    submit(store, round_, "s1", "Ada", "median", {"size": 3})
    board = leaderboard(store.submissions(round_.code))
    assert len(store.submissions(round_.code)) == 3
    assert sorted(board["name"]) == ["Ada", "Bo"]  # one row per student: the best of theirs
    assert board.set_index("name").loc["Ada", "submitted"] == 2
    ada = store.submissions(round_.code).query("student == 's1'")
    assert board.set_index("name").loc["Ada", "psnr"] == ada["psnr"].max()
    assert board["psnr"].is_monotonic_decreasing


def test_classroom_mode_follows_the_passcode(monkeypatch):
    monkeypatch.delenv("DENOISE_WORKBENCH_CLASSROOM_PASSCODE", raising=False)
    assert not classroom_mode() and not passcode_matches("")
    monkeypatch.setenv("DENOISE_WORKBENCH_CLASSROOM_PASSCODE", "owl-42")
    assert classroom_mode() and passcode_matches(" owl-42 ") and not passcode_matches("owl-41")
