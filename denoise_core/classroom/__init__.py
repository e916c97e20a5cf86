"""The classroom: blind A/B voting against the metrics, and challenges scored against a hidden clean image.

``rounds`` defines a round (images, noise, methods, pairs per student, an optional zoomed crop), gives it
a short class code, schedules each voter's pairs and makes the images; ``ranking`` fits the eye's ranking
(Bradley–Terry with bootstrap intervals, win rates) and sets it beside the metrics' (Kendall τ);
``challenge`` scores a student's submission; ``access`` reads the lecturer's passcode of a served class.
Rounds, votes and submissions live in the results store (``benchmark.store``).
"""
from .access import PASSCODE_VAR, classroom_mode, passcode_matches
from .challenge import leaderboard, submission_key, submit
from .figure import ranking_svg
from .ranking import bradley_terry, kendall_tau, reveal, win_rates
from .rounds import Pair, Round, conditions, new_code, open_round, outputs, record_vote, schedule

__all__ = ["PASSCODE_VAR", "Pair", "Round", "bradley_terry", "classroom_mode", "conditions", "kendall_tau",
           "leaderboard", "new_code", "open_round", "outputs", "passcode_matches", "ranking_svg", "record_vote",
           "reveal", "schedule", "submission_key", "submit", "win_rates"]
