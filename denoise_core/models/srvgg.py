"""SRVGGNetCompact: the small VGG-style super-resolution network of Real-ESRGAN's compact models
(realesr-general-x4v3, realesr-animevideov3).

Wang, Xie, Dong, Shan, "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic
Data", ICCV Workshops 2021 (the compact models were published later in the same repository).
Parameter names match the official state dicts: ``body.N`` alternates convolutions and PReLUs.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SRVGGNetCompact(nn.Module):
    """``num_conv`` + 2 convolutions with PReLU at low resolution, pixel shuffle, plus the nearest up-sampled input.

    Parameters
    ----------
    channels : int
        Input and output channels (3 for the official models).
    num_feat : int
        Feature channels (64 in the official models).
    num_conv : int
        Hidden convolutions: 32 in realesr-general-x4v3, 16 in realesr-animevideov3.
    upscale : int
        Up-scaling factor of the final pixel shuffle (4 in the official models); also ``scale``, the
        attribute the super-resolution adapter reads.
    """

    def __init__(self, *, channels: int = 3, num_feat: int = 64, num_conv: int = 32, upscale: int = 4):
        super().__init__()
        self.channels, self.num_feat, self.num_conv, self.upscale = channels, num_feat, num_conv, upscale
        self.scale = upscale
        layers: list[nn.Module] = [nn.Conv2d(channels, num_feat, 3, padding=1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, padding=1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, channels * upscale ** 2, 3, padding=1))
        self.body = nn.ModuleList(layers)

    def config(self) -> dict:
        return {"channels": self.channels, "num_feat": self.num_feat, "num_conv": self.num_conv,
                "upscale": self.upscale}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return F.pixel_shuffle(out, self.upscale) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")
