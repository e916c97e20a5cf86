"""The eye's ranking from the votes, beside the metrics' rankings.

A vote is a row with the two methods shown (``a``, ``b``) and the choice (``"a"``, ``"b"`` or ``"same"``).
``bradley_terry`` fits each method's strength (a "same" is half a win to each side) by the MM algorithm of
Hunter (2004), "MM algorithms for generalized Bradley–Terry models", Ann. Statist. 32(1), with a 95 %
interval from resampling the votes; ``win_rates`` counts; ``kendall_tau`` compares two rankings;
``reveal`` puts it all in two tables, per noise type.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .rounds import Round, conditions, noise_label

PRIOR = 0.5
"""Virtual comparisons per pair of methods, all "same": keeps a method that won every vote finite."""
LOWER_IS_BETTER = {"lpips"}


def _outcomes(votes: pd.DataFrame, methods: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each vote as (index of a, index of b, a's score: 1 a won, 0.5 "same", 0 b won)."""
    index = {name: i for i, name in enumerate(methods)}
    choice = votes["choice"].to_numpy()
    return (votes["a"].map(index).to_numpy(dtype=int), votes["b"].map(index).to_numpy(dtype=int),
            np.where(choice == "a", 1.0, np.where(choice == "same", 0.5, 0.0)))


def _wins(a: np.ndarray, b: np.ndarray, score: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(wins, comparisons): ``wins[i, j]`` how often i beat j (a "same" counts half), ``comparisons[i, j]``
    how often they met."""
    wins = np.zeros((size, size))
    np.add.at(wins, (a, b), score)
    np.add.at(wins, (b, a), 1.0 - score)
    return wins, wins + wins.T


def _fit(wins: np.ndarray, met: np.ndarray, iterations: int = 500) -> np.ndarray:
    """Log-strengths (mean 0) of the Bradley–Terry model by MM updates."""
    size = len(wins)
    wins = wins + PRIOR / 2 * (1 - np.eye(size))
    met = met + PRIOR * (1 - np.eye(size))
    strength = np.ones(size)
    for _ in range(iterations):
        before = strength
        strength = wins.sum(axis=1) / (met / (strength[:, None] + strength[None, :])).sum(axis=1)
        strength /= np.exp(np.log(strength).mean())
        if np.max(np.abs(strength - before)) < 1e-10:
            break
    return np.log(strength)


def bradley_terry(votes: pd.DataFrame, methods: Sequence[str], *, resamples: int = 200,
                  seed: int = 0) -> pd.DataFrame:
    """Each method's Bradley–Terry strength from ``votes``, with a 95 % bootstrap interval.

    Parameters
    ----------
    votes : rows with ``a``, ``b`` (method names) and ``choice`` ("a", "b" or "same").
    methods : the methods ranked (those in no vote get strength 0 ± the prior's spread).
    resamples : bootstrap resamples of the votes (0: no interval).
    seed : seed of the resampling.

    Returns
    -------
    DataFrame indexed by method: ``strength`` (log scale, mean 0; P(i beats j) = 1 / (1 + exp(s_j - s_i))),
    ``low`` and ``high`` (2.5 and 97.5 percentiles), best first.
    """
    a, b, score = _outcomes(votes, methods)
    strength = _fit(*_wins(a, b, score, len(methods)))
    rng = np.random.default_rng(seed)
    picks = [rng.integers(0, len(votes), len(votes)) for _ in range(resamples if len(votes) else 0)]
    draws = np.array([_fit(*_wins(a[pick], b[pick], score[pick], len(methods)))
                      for pick in picks]).reshape(-1, len(methods))
    low, high = (np.percentile(draws, [2.5, 97.5], axis=0) if len(draws) else (np.full(len(methods), np.nan),) * 2)
    table = pd.DataFrame({"strength": strength, "low": low, "high": high}, index=pd.Index(methods, name="method"))
    return table.sort_values("strength", ascending=False)


def win_rates(votes: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Per method: ``votes`` (pairs it was in), ``wins``, ``same``, ``losses`` and ``win_rate`` (a "same"
    counts half; NaN for a method in no pair)."""
    rows = []
    for name in methods:
        left, right = votes["a"] == name, votes["b"] == name
        won = ((left & (votes["choice"] == "a")) | (right & (votes["choice"] == "b"))).sum()
        same = ((left | right) & (votes["choice"] == "same")).sum()
        count = (left | right).sum()
        rows.append({"method": name, "votes": int(count), "wins": int(won), "same": int(same),
                     "losses": int(count - won - same), "win_rate": (won + same / 2) / count if count else np.nan})
    return pd.DataFrame(rows).set_index("method")


def kendall_tau(first: Sequence[float], second: Sequence[float]) -> float:
    """Kendall's τ-b of two scores of the same items (1: the same order, −1: reversed; ties counted as in
    τ-b); NaN for fewer than two items or a constant score."""
    if len(first) < 2:
        return float("nan")
    return float(stats.kendalltau(first, second, variant="b").statistic)


def _one(votes: pd.DataFrame, scores: pd.DataFrame, methods: Sequence[str], noise: str,
         resamples: int) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    eye = bradley_terry(votes, methods, resamples=resamples).join(win_rates(votes, methods))
    eye["eye_rank"] = eye["strength"].rank(ascending=False, method="min").astype(int)
    means = scores.groupby("method").mean(numeric_only=True).drop(columns="condition", errors="ignore")
    taus = []
    for metric in means.columns:
        eye[metric] = means[metric]
        eye[f"{metric}_rank"] = eye[metric].rank(ascending=metric in LOWER_IS_BETTER, method="min").astype(int)
        signed = -eye[metric] if metric in LOWER_IS_BETTER else eye[metric]
        taus.append({"noise": noise, "metric": metric, "kendall_tau": kendall_tau(eye["strength"], signed),
                     "votes": len(votes)})
    eye.insert(0, "noise", noise)
    return eye.reset_index(), taus


def reveal(round_: Round, votes: pd.DataFrame, scores: list[dict[str, Any]], *,
           resamples: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The eye's ranking beside the metrics' for each noise type of ``round_`` (and over all of them when
    there are several).

    Parameters
    ----------
    votes : the round's votes (``Store.votes``).
    scores : ``rounds.scores(round_)``.

    Returns
    -------
    ranking : one row per noise and method: strength, low, high, win counts and rate, eye_rank, and each
        metric's mean with its rank.
    taus : one row per noise and metric: ``kendall_tau`` of the metric's ranking with the eye's, and the votes.
    """
    table = pd.DataFrame(scores)
    noise_of = {c: noise_label(round_, index) for c, (_, index) in enumerate(conditions(round_))}
    voted = votes.assign(noise=votes["condition"].map(noise_of))
    groups = list(dict.fromkeys(noise_of.values()))
    parts = [_one(voted[voted["noise"] == noise], table[table["noise"] == noise], round_.methods, noise, resamples)
             for noise in groups]
    if len(groups) > 1:
        parts.append(_one(voted, table, round_.methods, "all", resamples))
    return (pd.concat([p[0] for p in parts], ignore_index=True),
            pd.DataFrame([tau for p in parts for tau in p[1]]))
