"""The noise-type classifier's network."""
from __future__ import annotations

import torch
from torch import nn


class NoiseClassifier(nn.Module):
    """An MLP from ``features`` noise statistics to ``classes`` logits, two hidden layers; it standardises
    its input (``classifier.features.FEATURES`` to ``classifier.inference.CLASSES``)."""

    def __init__(self, features: int, classes: int, hidden: int = 64):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.layers = nn.Sequential(nn.Linear(features, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                    nn.GELU(), nn.Linear(hidden, classes))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.layers((inputs - self.mean) / self.scale)
