"""DnCNN: a plain stack of 3×3 convolutions that predicts the noise (residual learning).

Zhang, Zuo, Chen, Meng, Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for
Image Denoising", IEEE TIP 2017.
"""
from __future__ import annotations

import torch
from torch import nn


class DnCNN(nn.Module):
    """DnCNN: conv+ReLU, (depth-2) × conv+BN+ReLU, conv; returns ``x - noise``.

    Parameters
    ----------
    channels : int
        1 (gray) or 3 (colour).
    depth : int
        Number of convolution layers (17 for DnCNN-S, 20 for DnCNN-B).
    width : int
        Feature channels of the hidden layers (64 in the paper).
    batch_norm : bool
        With batch norm (convolutions without bias), as trained; without it the convolutions carry a
        bias, the layout of a model whose batch norm was fused for inference (``fuse_batch_norm``).
        Without batch norm the network starts as the identity (``reset_parameters``).

    The layer indices of ``self.dncnn`` match the published state dicts: ``dncnn.0, 2, 3, 5, 6, ...``
    with batch norm and ``dncnn.0, 2, 4, ...`` without.
    """

    def __init__(self, *, channels: int = 1, depth: int = 17, width: int = 64, batch_norm: bool = True):
        super().__init__()
        if depth < 3:
            raise ValueError(f"DnCNN depth must be at least 3, got {depth}")
        self.channels, self.depth, self.width, self.batch_norm = channels, depth, width, batch_norm
        bias = not batch_norm
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1, bias=bias),
                                   nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, 3, padding=1, bias=bias))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(width, channels, 3, padding=1, bias=bias))
        self.dncnn = nn.Sequential(*layers)
        if not batch_norm:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation and a zero last layer, for the plain stack without batch norm: with the
        default initialisation it sits at predicting no noise for hundreds of steps."""
        for layer in self.dncnn:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.dncnn[-1].weight)

    def config(self) -> dict:
        return {"channels": self.channels, "depth": self.depth, "width": self.width, "batch_norm": self.batch_norm}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.dncnn(x)


@torch.no_grad()
def fuse_batch_norm(model: DnCNN) -> DnCNN:
    """An equivalent ``DnCNN(batch_norm=False)`` with each batch norm folded into its convolution.

    Uses the running statistics (inference behaviour); the result is in eval mode.
    """
    if not model.batch_norm:
        return model.eval()
    fused = DnCNN(channels=model.channels, depth=model.depth, width=model.width, batch_norm=False)
    source = [m for m in model.dncnn if not isinstance(m, nn.ReLU)]
    target = [m for m in fused.dncnn if isinstance(m, nn.Conv2d)]
    i = 0
    for conv in target:
        layer = source[i]
        weight = layer.weight.clone()
        bias = layer.bias.clone() if layer.bias is not None else torch.zeros(weight.shape[0])
        i += 1
        if i < len(source) and isinstance(source[i], nn.BatchNorm2d):
            bn = source[i]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            weight = weight * scale[:, None, None, None]
            bias = (bias - bn.running_mean) * scale + bn.bias
            i += 1
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return fused.eval()
