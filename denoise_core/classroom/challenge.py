"""Challenge mode: students denoise a noisy image without seeing the clean one; each submission is scored
against the hidden clean image when it arrives and kept once, however often it is sent."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import pandas as pd

from .. import apply, metrics, registry
from ..benchmark.store import Store
from ..errors import InvalidParameterError, one_line
from .rounds import Round, outputs

NAME_LENGTH = 40


def submission_key(code: str, student: str, method: str, params: Mapping[str, Any]) -> str:
    """What makes a submission distinct: its round, student, method and parameters (hex sha256)."""
    text = json.dumps([code, student, method, dict(sorted(params.items()))], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def submit(store: Store, round_: Round, student: str, name: str, method: str,
           params: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Denoise the challenge's noisy image with ``method`` at ``params``, score it against the hidden clean
    image and store it; ``(stored, entry)``, ``stored`` False when the same submission was stored already.

    Raises
    ------
    InvalidParameterError
        Not a challenge, an unknown method, a parameter out of range.
    """
    if round_.kind != "challenge":
        raise InvalidParameterError(f"round {round_.code} is a vote, not a challenge")
    values = registry.get(method, "denoiser").resolve(params)
    clean, noisy, _, _ = outputs(round_, 0)
    result = apply.denoise(noisy, method, values, auto=False)
    entry = {"name": one_line(name.strip(), NAME_LENGTH) or "anonymous", "method": method, "params": values,
             **metrics.measure(clean, result, ["psnr", "ssim"])}
    key = submission_key(round_.code, student, method, values)
    return store.add_submission(round_.code, student, key, entry), entry


def leaderboard(submissions: pd.DataFrame) -> pd.DataFrame:
    """Each student's best submission by PSNR, best first: rank, name, method, params, psnr, ssim and how many
    they sent."""
    if submissions.empty:
        return pd.DataFrame(columns=["rank", "name", "method", "params", "psnr", "ssim", "submitted"])
    sent = submissions.groupby("student").size().rename("submitted")
    best = submissions.sort_values("psnr", ascending=False).drop_duplicates("student").join(sent, on="student")
    best.insert(0, "rank", range(1, len(best) + 1))
    return best[["rank", "name", "method", "params", "psnr", "ssim", "submitted"]].reset_index(drop=True)
