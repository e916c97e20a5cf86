"""Classroom mode: a server shared by a class, where what reaches the server's files or changes it is the
lecturer's alone.

The mode is on when ``$DENOISE_WORKBENCH_CLASSROOM_PASSCODE`` is set (read at each question, so a test can
set it); its value is the lecturer's passcode.
"""
from __future__ import annotations

import hmac
import os

PASSCODE_VAR = "DENOISE_WORKBENCH_CLASSROOM_PASSCODE"


def classroom_mode() -> bool:
    """Whether the app is served to a class (a non-empty passcode is set)."""
    return bool(os.environ.get(PASSCODE_VAR, "").strip())


def passcode_matches(given: str) -> bool:
    """Whether ``given`` is the lecturer's passcode (compared in constant time; False outside classroom mode)."""
    wanted = os.environ.get(PASSCODE_VAR, "").strip()
    return bool(wanted) and hmac.compare_digest(given.strip().encode(), wanted.encode())
