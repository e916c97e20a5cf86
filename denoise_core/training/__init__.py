"""Training of the learned denoisers: random patches of clean images, any registered noise model.

``recipe``: what a run is (``TrainConfig``, ``NoiseSpec``), without torch, for the command line.
``data``: the training folder's images, the noise drawn on them and the patches cut from them.
``losses``: L1, MSE and SSIM in torch. ``schedule``: the learning rate over the run.
``loop``: ``train``, which builds the network, trains, validates, checkpoints and saves it.

Importing the package does not import torch: the parts that need it load on first use.
"""
from __future__ import annotations

from importlib import import_module

from .recipe import LOSSES, SCHEDULES, NoiseSpec, TrainConfig
from .schedule import learning_rate

_TORCH_PARTS = {"training_images": "data", "NoiseDraw": "data", "PatchSampler": "data", "loss_value": "losses",
                "build_model": "loop", "train": "loop"}

__all__ = ["LOSSES", "SCHEDULES", "NoiseSpec", "TrainConfig", "learning_rate", *_TORCH_PARTS]


def __getattr__(name: str):
    """``train`` and the other parts that need torch, imported from their module on first use."""
    if name not in _TORCH_PARTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_TORCH_PARTS[name]}", __name__), name)
