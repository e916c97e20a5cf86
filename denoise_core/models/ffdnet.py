"""FFDNet-style denoiser: works on a 2× pixel-unshuffled image with a noise-level map as input.

Zhang, Zuo, Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image Denoising",
IEEE TIP 2018. Differences from the paper: no batch norm, and the network predicts the noise of the
sub-images (residual learning), which trains faster.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class FFDNet(nn.Module):
    """Pixel-unshuffle ×2, [noise map], (depth) 3×3 convolutions, pixel-shuffle back.

    Parameters
    ----------
    channels : int
        1 (gray) or 3 (colour).
    depth : int
        Number of convolution layers at the reduced resolution.
    width : int
        Feature channels of the hidden layers.
    noise_map : bool
        Take a noise-level map (one value per channel, the std in [0, 1] units) as input; without it
        the network is blind and ``forward`` ignores ``sigma``.

    ``forward(x, sigma)``: ``x`` is (N, C, H, W) with even H and W, ``sigma`` a tensor of shape (N,)
    or (N, C). Returns the denoised (N, C, H, W).
    """

    multiple = 2

    def __init__(self, *, channels: int = 1, depth: int = 12, width: int = 64, noise_map: bool = True):
        super().__init__()
        self.channels, self.depth, self.width, self.noise_map = channels, depth, width, noise_map
        inputs = 4 * channels + (channels if noise_map else 0)
        layers: list[nn.Module] = [nn.Conv2d(inputs, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, 4 * channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation for the hidden layers and a zero last layer: the untrained network is
        the identity, and a plain stack this deep trains (the default initialisation stalls)."""
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.body[-1].weight)

    def config(self) -> dict:
        return {"channels": self.channels, "depth": self.depth, "width": self.width, "noise_map": self.noise_map}

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        small = F.pixel_unshuffle(x, 2)
        features = small
        if self.noise_map:
            if sigma is None:
                raise ValueError("this FFDNet takes a noise level: forward(x, sigma)")
            level = sigma.to(x.dtype).reshape(x.shape[0], -1).expand(x.shape[0], self.channels)
            level_map = level[:, :, None, None].expand(-1, -1, small.shape[2], small.shape[3])
            features = torch.cat([small, level_map], dim=1)
        return F.pixel_shuffle(small - self.body(features), 2)
