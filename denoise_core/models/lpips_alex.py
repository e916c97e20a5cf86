"""LPIPS, AlexNet variant with the v0.1 linear heads, in plain torch.

Zhang, Isola, Efros, Shechtman, Wang, "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric", CVPR 2018. The state dict keys follow the published files: ``features.N.*``
(torchvision's AlexNet) and ``lin0.model.1.weight`` ... ``lin4.model.1.weight`` (v0.1 ``alex.pth``).
"""
from __future__ import annotations

import torch
from torch import nn


class _Linear(nn.Module):
    """A 1×1 convolution without bias (index 1 of ``model``, after a dropout, as published)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))


class LPIPSAlex(nn.Module):
    """``forward(x, y)`` → (N,) distances; ``x`` and ``y`` are (N, 3, H, W) in [-1, 1]."""

    TAPS = (1, 4, 7, 9, 11)  # the ReLU after each of the five convolutions
    CHANNELS = (64, 192, 384, 256, 256)

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=False))
        for i, channels in enumerate(self.CHANNELS):
            setattr(self, f"lin{i}", _Linear(channels))
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None], persistent=False)
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450])[None, :, None, None], persistent=False)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        x = (x - self.shift) / self.scale
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.TAPS:
                out.append(x)
            if i == self.TAPS[-1]:
                break
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for i, (a, b) in enumerate(zip(self._taps(x), self._taps(y))):
            a = a / (torch.sqrt(torch.sum(a * a, dim=1, keepdim=True)) + 1e-10)
            b = b / (torch.sqrt(torch.sum(b * b, dim=1, keepdim=True)) + 1e-10)
            head = getattr(self, f"lin{i}").model[1]
            total = total + head((a - b) ** 2).mean(dim=(1, 2, 3))
        return total
