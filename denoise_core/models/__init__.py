"""Network definitions (``nn.Module`` only): no weights, no numpy, no file access.

``ARCHITECTURES`` maps the name a weights catalog entry gives for its architecture to the class;
each class takes only keyword arguments, so an entry's ``config`` dict rebuilds it exactly.
A network that takes the noise level as an input says so with a ``noise_map`` option (``weights.NOISE_MAP_OPTION``
states it for every denoiser architecture without importing torch).
"""
from __future__ import annotations

import torch
from torch import nn

from .autoencoder import ConvAutoencoder
from .dncnn import DnCNN, fuse_batch_norm
from .drunet import DRUNet
from .ffdnet import FFDNet
from .lpips_alex import LPIPSAlex
from .noise_classifier import NoiseClassifier
from .rrdbnet import RRDBNet
from .srvgg import SRVGGNetCompact
from .unet import UNet

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "dncnn": DnCNN, "ffdnet": FFDNet, "unet": UNet, "autoencoder": ConvAutoencoder, "drunet": DRUNet,
    "rrdbnet": RRDBNet, "srvgg": SRVGGNetCompact,
}

__all__ = ["ARCHITECTURES", "ConvAutoencoder", "DRUNet", "DnCNN", "FFDNet", "LPIPSAlex", "NoiseClassifier", "RRDBNet",
           "SRVGGNetCompact", "UNet", "fuse_batch_norm", "parameter_count", "run_network"]


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (weights and biases) of ``model``."""
    return sum(p.numel() for p in model.parameters())


def run_network(model: nn.Module, x: torch.Tensor, sigma: torch.Tensor | None) -> torch.Tensor:
    """``model(x, sigma)`` for networks that take a noise level (``noise_map`` true), ``model(x)`` for the others."""
    if getattr(model, "noise_map", False):
        return model(x, sigma)
    return model(x)

