"""RRDBNet: the generator of ESRGAN and Real-ESRGAN (residual-in-residual dense blocks).

Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCV Workshops 2018;
Wang, Xie, Dong, Shan, "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic
Data", ICCV Workshops 2021. Parameter names match the official state dicts (``conv_first``,
``body.N.rdb1.conv1``, ``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3×3 convolutions; the output is scaled by 0.2 and added to the input."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        for i in range(5):
            outputs = num_feat if i == 4 else num_grow_ch
            setattr(self, f"conv{i + 1}", nn.Conv2d(num_feat + i * num_grow_ch, outputs, 3, padding=1))
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for i in range(1, 5):
            features.append(self.lrelu(getattr(self, f"conv{i}")(torch.cat(features, 1))))
        return self.conv5(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks inside one more residual connection (scaled by 0.2)."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator: conv, ``num_block`` RRDBs, two nearest 2× up-samplings, conv_hr, conv_last.

    Parameters
    ----------
    channels : int
        Input and output channels (3 for the official models).
    scale : int
        1, 2 or 4. For 2 and 1 the input is first pixel-unshuffled by 2 or 4 (so its sides must be a
        multiple of ``multiple``); the network itself always up-samples 4×.
    num_feat, num_block, num_grow_ch : int
        64, 23 and 32 in the official RealESRGAN_x4plus / ESRGAN models.

    Maps an image in [0, 1] to the up-scaled image (not clamped).
    """

    def __init__(self, *, channels: int = 3, scale: int = 4, num_feat: int = 64, num_block: int = 23,
                 num_grow_ch: int = 32):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4, got {scale}")
        self.channels, self.scale, self.num_feat, self.num_block, self.num_grow_ch = \
            channels, scale, num_feat, num_block, num_grow_ch
        self.multiple = 4 // scale
        self.conv_first = nn.Conv2d(channels * self.multiple ** 2, num_feat, 3, padding=1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_last = nn.Conv2d(num_feat, channels, 3, padding=1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def config(self) -> dict:
        return {"channels": self.channels, "scale": self.scale, "num_feat": self.num_feat,
                "num_block": self.num_block, "num_grow_ch": self.num_grow_ch}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.multiple > 1:
            x = F.pixel_unshuffle(x, self.multiple)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))
