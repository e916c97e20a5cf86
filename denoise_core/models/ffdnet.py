"""FFDNet-style denoiser: works on a 2× pixel-unshuffled image with a noise-level map as input.

Zhang, Zuo, Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image Denoising",
IEEE TIP 2018. Differences from the paper: no batch norm, and the network predicts the noise of the
sub-images (residual learning), which trains faster; ``residual=False, level_maps=1`` is the paper's
(KAIR's) layout, which predicts the clean sub-images from one shared noise-level map. ``impulses`` fills the pixels at the ends of the
range from their neighbours first, for salt-and-pepper noise, scribbles and mixes with them.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


IMPULSE_MODES = ("", "fill", "switch")


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
    impulses : str
        ``""``: none. ``"fill"``: the pixels at 0 or 1 (and beyond) are taken for impulses and filled
        with the mean of their nearest other pixels (``fill_impulses``) before the network sees the
        image (impulses riding on other noise). ``"switch"``: the same, and only those pixels take
        the network's output; every other pixel passes through untouched (pure impulses). The
        weights are those of the plain network, so a Gaussian model is a starting point for either.
    multiplicative : bool
        Noise that grows with brightness (speckle, ``y = x·(1 + n)``): ``sigma`` is the relative std
        (``sqrt(var)``) and the level map is ``sigma`` times the local brightness (``brightness``).
        Same weights' shapes as the plain network.
    residual : bool
        Predict the noise and subtract it (ours); False predicts the clean sub-images (the paper's).
    level_maps : int or None
        Noise-level maps given to the network: one per channel (None, ours) or 1 shared by all (the paper's).

    ``forward(x, sigma)``: ``x`` is (N, C, H, W) with even H and W, ``sigma`` a tensor of shape (N,)
    or (N, C), or a per-pixel map (N, 1, H, W) (noise that varies with brightness). Returns the
    denoised (N, C, H, W).
    """

    multiple = 2

    def __init__(self, *, channels: int = 1, depth: int = 12, width: int = 64, noise_map: bool = True,
                 impulses: str = "", multiplicative: bool = False, residual: bool = True,
                 level_maps: int | None = None):
        super().__init__()
        self.channels, self.depth, self.width, self.noise_map = channels, depth, width, noise_map
        self.residual, self.level_maps = residual, level_maps or channels
        if impulses not in IMPULSE_MODES:
            raise ValueError(f"FFDNet impulses must be one of {IMPULSE_MODES}, got {impulses!r}")
        self.impulses, self.multiplicative = impulses, multiplicative
        inputs = 4 * channels + (self.level_maps if noise_map else 0)
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
        return {"channels": self.channels, "depth": self.depth, "width": self.width, "noise_map": self.noise_map,
                **({"impulses": self.impulses} if self.impulses else {}),
                **({"multiplicative": True} if self.multiplicative else {}),
                **({} if self.residual else {"residual": False}),
                **({} if self.level_maps == self.channels else {"level_maps": self.level_maps})}

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        if not self.impulses:
            return self._denoise(x, sigma)
        mask = impulse_mask(x)
        out = self._denoise(fill_impulses(x, mask), sigma)
        return torch.where(mask, out, x) if self.impulses == "switch" else out

    def _denoise(self, x: torch.Tensor, sigma: torch.Tensor | None) -> torch.Tensor:
        small = F.pixel_unshuffle(x, 2)
        features = small
        if self.noise_map:
            if sigma is None:
                raise ValueError("this FFDNet takes a noise level: forward(x, sigma)")
            level_map = self._level_map(sigma.to(x.dtype), x.shape[0], small.shape[2:])
            if self.multiplicative:
                level_map = level_map * brightness(small, self.channels)
            features = torch.cat([small, level_map], dim=1)
        out = self.body(features)
        return F.pixel_shuffle(small - out if self.residual else out, 2)

    def _level_map(self, sigma: torch.Tensor, n: int, size: torch.Size) -> torch.Tensor:
        """The (N, level_maps, h, w) level map at half resolution: from one level per image (or channel), or
        from a per-pixel (N, 1, H, W) map averaged over each 2×2 block."""
        if sigma.dim() == 4:
            return F.avg_pool2d(sigma.mean(dim=1, keepdim=True), 2).expand(-1, self.level_maps, -1, -1)
        level = sigma.reshape(n, -1)
        if level.shape[1] != self.level_maps:
            level = level.mean(dim=1, keepdim=True).expand(-1, self.level_maps)
        return level[:, :, None, None].expand(-1, -1, size[0], size[1])


def brightness(small: torch.Tensor, channels: int) -> torch.Tensor:
    """The local mean of each channel of a pixel-unshuffled image: 3×3 at half resolution (6×6 pixels)."""
    n, _, h, w = small.shape
    mean = small.reshape(n, channels, 4, h, w).mean(dim=2)
    return F.avg_pool2d(F.pad(mean, (1, 1, 1, 1), mode="replicate"), 3, 1).clamp_min(0)


def impulse_mask(x: torch.Tensor) -> torch.Tensor:
    """The pixels taken for impulses: those at 0 or 1 (or beyond)."""
    return (x <= 0) | (x >= 1)


def fill_impulses(x: torch.Tensor, mask: torch.Tensor, sizes: tuple[int, ...] = (3, 5, 7, 9, 11, 13, 15)) -> torch.Tensor:
    """``x`` with its ``mask``ed pixels replaced by the mean of the unmasked ones in the smallest
    window (3×3, 5×5, ...) that has any; a pixel with none in the largest window keeps its value."""
    valid = (~mask).to(x.dtype)
    out, todo = x, mask
    for size in sizes:
        if not bool(todo.any()):
            break
        pad = (size // 2,) * 4
        total = F.avg_pool2d(F.pad(x * valid, pad, mode="replicate"), size, 1)
        count = F.avg_pool2d(F.pad(valid, pad, mode="replicate"), size, 1)
        found = todo & (count > 0)
        out = torch.where(found, total / count.clamp_min(1e-12), out)
        todo = todo & ~found
    return out
