"""The small convolutional autoencoder of the course notebooks.

Conv 64 → pool → Conv 128 → pool → Conv 128 → up → Conv 64 → up → Conv C, sigmoid output.
"""
from __future__ import annotations

import torch
from torch import nn


class ConvAutoencoder(nn.Module):
    """Two 2× poolings and two 2× nearest up-samplings; inputs must be a multiple of 4.

    Parameters
    ----------
    channels : int
        1 (gray) or 3 (colour).
    width : int
        Channels of the first layer (64); the bottleneck has twice as many.
    """

    multiple = 4

    def __init__(self, *, channels: int = 1, width: int = 64):
        super().__init__()
        self.channels, self.width = channels, width
        relu = nn.ReLU
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), relu(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), relu(inplace=True), nn.MaxPool2d(2))
        self.decoder = nn.Sequential(
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), relu(inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * width, width, 3, padding=1), relu(inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid())

    def config(self) -> dict:
        return {"channels": self.channels, "width": self.width}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
