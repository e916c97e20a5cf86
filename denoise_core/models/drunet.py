"""DRUNet: a residual U-Net denoiser with a noise-level map as an extra input channel.

Zhang, Li, Zuo, Zhang, Van Gool, Timofte, "Plug-and-Play Image Restoration with Deep Denoiser
Prior", IEEE TPAMI 2021. The layout (and the state-dict keys) are those of the published
``drunet_gray.pth`` / ``drunet_color.pth`` (KAIR's ``UNetRes``): a 3×3 head, at each scale
``blocks`` residual blocks (conv–ReLU–conv plus the input) then a 2×2 stride-2 convolution down, a
body of residual blocks at the coarsest scale, then per scale a 2×2 stride-2 transposed convolution
up and residual blocks, a 3×3 tail; the encoder's features are *added* to the decoder's input of the
same scale. No biases anywhere. The published network outputs the clean image directly; with
``residual=True`` it predicts the noise instead (``x - network(x)``), which a short CPU run from scratch
trains much faster, as this project's FFDNet does.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ResidualBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3×3 convolutions without bias; keys ``res.0``, ``res.2``."""

    def __init__(self, width: int):
        super().__init__()
        self.res = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.ReLU(inplace=True),
                                 nn.Conv2d(width, width, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res(x)


class DRUNet(nn.Module):
    """Residual U-Net with ``levels`` 2× down-samplings; widths double at each level.

    Parameters
    ----------
    channels : int
        Image channels: 1 (gray) or 3 (colour).
    width : int
        Feature channels at full resolution (64 in the paper; the published files are 64/128/256/512).
    levels : int
        Number of 2× down-samplings (3 in the paper: four scales). ``forward`` pads to a multiple of
        ``2**levels`` itself, so any size goes in.
    blocks : int
        Residual blocks per scale, in the encoder, the body and the decoder alike (4 in the paper).
    noise_map : bool
        Take the noise level (the std in [0, 1] units) as one extra constant input channel, as the
        published files do; without it the network is blind and ``forward`` ignores ``sigma``.
    residual : bool
        Predict the noise and subtract it from the input. False for the published files, whose tensors
        would load either way (the option adds none): only their ``residual=False`` gives their output.
        With True the last convolution starts at zero, so the untrained network is the identity.

    ``forward(x, sigma)``: ``x`` is (N, C, H, W) of any size, ``sigma`` a tensor of shape (N,) or (N, 1)
    (one level per image, shared by its channels, as in the paper) or a per-pixel map (N, 1, H, W).
    Returns the denoised (N, C, H, W).
    The state-dict keys are ``m_head``, ``m_down1..L``, ``m_body``, ``m_upL..1``, ``m_tail``.
    """

    multiple = 1
    """The runner needs no padding: ``forward`` replicate-pads to ``2**levels`` and crops back."""

    def __init__(self, *, channels: int = 1, width: int = 64, levels: int = 3, blocks: int = 4,
                 noise_map: bool = True, residual: bool = False):
        super().__init__()
        if levels < 1 or blocks < 0 or width < 1 or channels < 1:
            raise ValueError(f"DRUNet needs levels >= 1, blocks >= 0, width and channels >= 1; got levels={levels}, "
                             f"blocks={blocks}, width={width}, channels={channels}")
        self.channels, self.width, self.levels, self.blocks, self.noise_map = channels, width, levels, blocks, noise_map
        self.residual = residual
        self.pad_multiple = 2 ** levels
        widths = [width * 2 ** i for i in range(levels + 1)]
        self.m_head = nn.Conv2d(channels + (1 if noise_map else 0), width, 3, padding=1, bias=False)
        for i in range(levels):  # m_down1 .. m_downL: blocks at scale i, then a strided convolution
            self.add_module(f"m_down{i + 1}", nn.Sequential(
                *(ResidualBlock(widths[i]) for _ in range(blocks)),
                nn.Conv2d(widths[i], widths[i + 1], 2, stride=2, bias=False)))
        self.m_body = nn.Sequential(*(ResidualBlock(widths[levels]) for _ in range(blocks)))
        for i in reversed(range(levels)):  # m_upL .. m_up1: a transposed convolution, then blocks at scale i
            self.add_module(f"m_up{i + 1}", nn.Sequential(
                nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2, bias=False),
                *(ResidualBlock(widths[i]) for _ in range(blocks))))
        self.m_tail = nn.Conv2d(width, channels, 3, padding=1, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation, with the last convolution of every residual block at zero: each block
        starts as the identity, so the untrained network is a shallow linear U-Net that a short CPU
        run moves quickly (loaded weights replace all of this)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        for module in self.modules():
            if isinstance(module, ResidualBlock):
                nn.init.zeros_(module.res[2].weight)
        if self.residual:
            nn.init.zeros_(self.m_tail.weight)

    def config(self) -> dict:
        return {"channels": self.channels, "width": self.width, "levels": self.levels, "blocks": self.blocks,
                "noise_map": self.noise_map, **({"residual": True} if self.residual else {})}

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        n, _, h, w = x.shape
        features = x
        if self.noise_map:
            if sigma is None:
                raise ValueError("this DRUNet takes a noise level: forward(x, sigma)")
            features = torch.cat([x, self._level_map(sigma.to(x.dtype), n, h, w)], dim=1)
        ph, pw = (-h) % self.pad_multiple, (-w) % self.pad_multiple
        if ph or pw:
            features = F.pad(features, (0, pw, 0, ph), mode="replicate")
        skips = [self.m_head(features)]
        for i in range(1, self.levels + 1):
            skips.append(getattr(self, f"m_down{i}")(skips[-1]))
        out = self.m_body(skips[-1])
        for i in range(self.levels, 0, -1):
            out = getattr(self, f"m_up{i}")(out + skips[i])
        out = self.m_tail(out + skips[0])[..., :h, :w]
        return x - out if self.residual else out

    @staticmethod
    def _level_map(sigma: torch.Tensor, n: int, h: int, w: int) -> torch.Tensor:
        """The (N, 1, H, W) level channel: one level per image spread over it, or a per-pixel (N, 1, H, W) map."""
        if sigma.dim() == 4 and sigma.shape[1:] == (1, h, w):
            return sigma.expand(n, -1, -1, -1)
        level = sigma.reshape(-1)
        if level.numel() == 1:
            level = level.expand(n)
        if level.numel() != n:
            raise ValueError(f"DRUNet takes one noise level per image: sigma of shape (N,) or (N, 1) with "
                             f"N={n}, or a map (N, 1, H, W); got {tuple(sigma.shape)}")
        return level[:, None, None, None].expand(n, 1, h, w)
