"""A small U-Net: encoder–decoder with skip connections, residual output.

Ronneberger, Fischer, Brox, "U-Net: Convolutional Networks for Biomedical Image Segmentation",
MICCAI 2015. Trained here with an MSE + SSIM loss (``training.losses``, ``loss="mse+ssim"``).
"""
from __future__ import annotations

import torch
from torch import nn


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(outputs, outputs, 3, padding=1), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """U-Net with ``levels`` poolings; widths double at each level.

    Parameters
    ----------
    channels : int
        1 (gray) or 3 (colour).
    width : int
        Feature channels at full resolution.
    levels : int
        Number of 2× down-samplings; inputs must be a multiple of ``2**levels`` (``multiple``).
    """

    def __init__(self, *, channels: int = 1, width: int = 32, levels: int = 3):
        super().__init__()
        self.channels, self.width, self.levels = channels, width, levels
        self.multiple = 2 ** levels
        widths = [width * 2 ** i for i in range(levels + 1)]
        self.down = nn.ModuleList([_block(channels, widths[0])] +
                                  [_block(widths[i], widths[i + 1]) for i in range(levels)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(levels))])
        self.merge = nn.ModuleList([_block(2 * widths[i], widths[i]) for i in reversed(range(levels))])
        self.head = nn.Conv2d(widths[0], channels, 1)

    def config(self) -> dict:
        return {"channels": self.channels, "width": self.width, "levels": self.levels}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        features = x
        for i, block in enumerate(self.down):
            features = block(features if i == 0 else self.pool(features))
            skips.append(features)
        skips.pop()
        for up, merge in zip(self.up, self.merge):
            features = merge(torch.cat([up(features), skips.pop()], dim=1))
        return x - self.head(features)
