"""Network definitions (``nn.Module`` only): no weights, no numpy, no file access.

``ARCHITECTURES`` maps the name a weights catalog entry gives for its architecture to the class;
each class takes only keyword arguments, so an entry's ``config`` dict rebuilds it exactly.
``DENOISERS`` names the ones that map a noisy image to a clean one of the same size (``train`` builds those).
A network that takes the noise level as an input says so with a ``noise_map`` option (``takes_noise_map``).
"""
from __future__ import annotations

import inspect

import torch
from torch import nn

from .autoencoder import ConvAutoencoder
from .dncnn import DnCNN, fuse_batch_norm
from .drunet import DRUNet
from .ffdnet import FFDNet
from .lpips_alex import LPIPSAlex
from .rrdbnet import RRDBNet
from .srvgg import SRVGGNetCompact
from .unet import UNet

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "dncnn": DnCNN, "ffdnet": FFDNet, "unet": UNet, "autoencoder": ConvAutoencoder, "drunet": DRUNet,
    "rrdbnet": RRDBNet, "srvgg": SRVGGNetCompact,
}
DENOISERS = ("dncnn", "ffdnet", "unet", "autoencoder", "drunet")

__all__ = ["ARCHITECTURES", "DENOISERS", "ConvAutoencoder", "DRUNet", "DnCNN", "FFDNet", "LPIPSAlex", "RRDBNet",
           "SRVGGNetCompact", "UNet", "fuse_batch_norm", "parameter_count", "run_network", "takes_noise_map"]


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (weights and biases) of ``model``."""
    return sum(p.numel() for p in model.parameters())


def run_network(model: nn.Module, x: torch.Tensor, sigma: torch.Tensor | None) -> torch.Tensor:
    """``model(x, sigma)`` for networks that take a noise level (``noise_map`` true), ``model(x)`` for the others."""
    if getattr(model, "noise_map", False):
        return model(x, sigma)
    return model(x)


def takes_noise_map(arch: str, config: dict) -> bool:
    """Whether ``ARCHITECTURES[arch](**config)`` takes the noise level as an input: its ``noise_map`` option,
    the architecture's default when ``config`` leaves it out; False for an architecture without one."""
    option = inspect.signature(ARCHITECTURES[arch]).parameters.get("noise_map") if arch in ARCHITECTURES else None
    return option is not None and bool(config.get("noise_map", option.default))
