"""The training losses, in torch: L1, MSE, SSIM and MSE + SSIM."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..errors import InvalidParameterError
from .recipe import LOSSES


def _gaussian_window(channels: int, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim_torch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of two (N, C, H, W) batches in [0, 1] (Gaussian window σ=1.5, valid region)."""
    channels = x.shape[1]
    window = _gaussian_window(channels).to(x)
    mu_x, mu_y = F.conv2d(x, window, groups=channels), F.conv2d(y, window, groups=channels)
    xx = F.conv2d(x * x, window, groups=channels) - mu_x ** 2
    yy = F.conv2d(y * y, window, groups=channels) - mu_y ** 2
    xy = F.conv2d(x * y, window, groups=channels) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * xy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (xx + yy + c2))
    return ssim.mean()


def loss_value(name: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``l1``, ``mse``, ``ssim`` (1 − SSIM) or ``mse+ssim`` (MSE + 0.01·(1 − SSIM))."""
    if name == "l1":
        return F.l1_loss(output, target)
    if name == "mse":
        return F.mse_loss(output, target)
    if name == "ssim":
        return 1 - ssim_torch(output, target)
    if name == "mse+ssim":
        return F.mse_loss(output, target) + 0.01 * (1 - ssim_torch(output, target))
    raise InvalidParameterError(f"unknown loss '{name}' (valid: {', '.join(LOSSES)})")
