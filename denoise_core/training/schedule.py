"""The learning rate over a run: cosine, step or constant after an optional linear warm-up."""
from __future__ import annotations

import math

from ..errors import InvalidParameterError
from .recipe import SCHEDULES, TrainConfig


def learning_rate(config: TrainConfig, progress: float, step: int = 0) -> float:
    """Learning rate at ``progress`` in [0, 1] of the run, ramped up linearly over ``config.warmup`` steps."""
    return _scheduled(config, min(max(progress, 0.0), 1.0)) * min(1.0, (step + 1) / max(config.warmup, 1))


def _scheduled(config: TrainConfig, progress: float) -> float:
    if config.schedule == "cosine":
        return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1 + math.cos(math.pi * progress))
    if config.schedule == "step":  # ÷10 at 50 % and 80 % of the run
        return config.lr * (0.1 ** (int(progress >= 0.5) + int(progress >= 0.8)))
    if config.schedule == "constant":
        return config.lr
    raise InvalidParameterError(f"unknown schedule '{config.schedule}' (valid: {', '.join(SCHEDULES)})")
