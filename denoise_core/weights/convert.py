"""Converting a state dict into a network: the published DnCNN and DRUNet layouts, and ``train``'s files.

``build_network`` checks a state dict's shapes against an architecture's on the meta device before it
allocates anything; ``convert_dncnn`` and ``convert_drunet`` read the configuration off a published file's
keys and shapes: ``module.dncnn.N.*`` (with batch norm, saved from ``nn.DataParallel``) and ``model.N.*``
(batch norm merged into the convolutions) for DnCNN, ``m_head``, ``m_down1..3``, ``m_body``, ``m_up3..1``,
``m_tail`` for DRUNet (``drunet_gray.pth``, ``drunet_color.pth``). Torch is imported when a network is built.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WeightsError, one_line
from .catalog import DENOISERS

if TYPE_CHECKING:
    import torch

_DNCNN_KEY = re.compile(r"dncnn\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)")


def _difference(expected: dict, given: dict) -> str:
    """The first way the tensor shapes ``given`` differ from those ``expected``."""
    for key, shape in expected.items():
        if key not in given:
            return f"missing {key!r}"
        if given[key] != shape:
            return f"{key!r} is {list(given[key])}, expected {list(shape)}"
    return f"unexpected {one_line(next(k for k in given if k not in expected), 60)!r}"


def build_network(arch: str, config: object, state: dict, label: str) -> torch.nn.Module:
    """``ARCHITECTURES[arch](**config)`` holding ``state`` (``strict``), in eval mode.

    The network is first built on the meta device and its shapes compared with ``state``'s, so options
    that do not fit the file allocate nothing. Integer options are sizes (channels, depth, width, levels):
    at least 1 and no larger than the file could hold. A missing batch-norm counter is filled with 0.

    Raises
    ------
    WeightsError
        Not a denoiser architecture, options it does not take, or shapes that differ; names ``label``.
    """
    import torch

    from ..models import ARCHITECTURES

    if arch not in DENOISERS:
        raise WeightsError(f"{label}: architecture {one_line(arch, 40)!r} is not a denoiser "
                           f"(valid: {', '.join(DENOISERS)})")
    if not isinstance(config, dict):
        raise WeightsError(f"{label}: the configuration must be a JSON object of {arch} options")
    limit = max(len(state), *(max(value.shape, default=1) for value in state.values()))
    for key, value in config.items():
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= limit:
            raise WeightsError(f"{label}: {arch} option {one_line(key, 40)}={value} is no size this file can hold "
                               f"(1 to {limit}, its number of tensors or their largest side)")
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in ARCHITECTURES[arch](**config).state_dict().items()}
    except (TypeError, ValueError, RuntimeError) as error:
        raise WeightsError(f"{label}: {one_line(config, 200)} are not valid {arch} options ({one_line(error, 200)})") from None
    counters = {k: torch.zeros((), dtype=torch.long) for k in expected if k.endswith("num_batches_tracked")}
    state = {**counters, **state}
    given = {k: tuple(v.shape) for k, v in state.items()}
    if given != expected:
        raise WeightsError(f"{label}: does not fit {arch} {one_line(config, 200)} ({_difference(expected, given)})")
    model = ARCHITECTURES[arch](**config)
    model.load_state_dict(state, strict=True)
    return model.eval()


def convert_dncnn(state: dict, label: str | Path) -> torch.nn.Module:
    """A ``DnCNN`` holding a published DnCNN state dict (either layout); raises ``WeightsError``."""
    keys = list(state)
    if all(k.startswith("module.dncnn.") for k in keys) or all(k.startswith("dncnn.") for k in keys):
        state = {k.removeprefix("module."): v for k, v in state.items()}
        batch_norm = any(k.endswith("running_mean") for k in state)
    elif all(k.startswith("model.") for k in keys):
        state = {"dncnn." + k.removeprefix("model."): v for k, v in state.items()}
        batch_norm = False
    else:
        raise WeightsError(f"{label}: unrecognised layout (keys like {one_line(keys[0], 60)!r}); expected DnCNN "
                           "keys 'module.dncnn.N.*' or 'model.N.*'")
    odd = next((k for k in state if not _DNCNN_KEY.fullmatch(k)), None)
    if odd is not None:
        raise WeightsError(f"{label}: unrecognised DnCNN key {one_line(odd, 60)!r} (expected N.weight, N.bias "
                           "or batch-norm statistics)")
    convs = sorted(int(k.split(".")[1]) for k, v in state.items() if k.endswith(".weight") and v.ndim == 4)
    if len(convs) < 3:
        raise WeightsError(f"{label}: {len(convs)} convolution layers; a DnCNN has at least 3")
    first = state[f"dncnn.{convs[0]}.weight"]
    config = {"channels": int(first.shape[1]), "depth": len(convs), "width": int(first.shape[0]),
              "batch_norm": batch_norm}
    return build_network("dncnn", config, state, str(label))


_DRUNET_KEY = re.compile(r"m_(head|tail|body|down\d+|up\d+)(\.\d+(\.res\.[02])?)?\.weight")


def convert_drunet(state: dict, label: str | Path) -> torch.nn.Module:
    """A ``DRUNet`` holding a published DRUNet state dict (KAIR's ``UNetRes`` keys ``m_head``, ``m_down1..``,
    ``m_body``, ``m_up..1``, ``m_tail``, no biases); the configuration is read off the shapes. Raises
    ``WeightsError``."""
    odd = next((k for k in state if not _DRUNET_KEY.fullmatch(k)), None)
    if odd is not None:
        raise WeightsError(f"{label}: unrecognised DRUNet key {one_line(odd, 60)!r} (expected m_head, m_downN, m_body, "
                           "m_upN, m_tail weights, no biases)")
    head, tail = state.get("m_head.weight"), state.get("m_tail.weight")
    if head is None or tail is None or head.ndim != 4 or tail.ndim != 4:
        raise WeightsError(f"{label}: a DRUNet needs 4-d 'm_head.weight' and 'm_tail.weight'")
    channels, inputs = int(tail.shape[0]), int(head.shape[1])
    if inputs not in (channels, channels + 1):
        raise WeightsError(f"{label}: m_head takes {inputs} channels for a {channels}-channel image; expected "
                           f"{channels + 1} (with a noise map) or {channels}")
    config = {"channels": channels, "width": int(head.shape[0]),
              "levels": len({k.split(".")[0] for k in state if k.startswith("m_down")}),
              "blocks": len({k.split(".")[1] for k in state if k.startswith("m_body.")}),
              "noise_map": inputs == channels + 1}
    return build_network("drunet", config, state, str(label))


def convert_published(state: dict, label: str | Path) -> tuple[str, torch.nn.Module]:
    """(architecture, network) for a published state dict: DRUNet's layout (``m_head``...) or DnCNN's."""
    if "m_head.weight" in state:
        return "drunet", convert_drunet(state, label)
    return "dncnn", convert_dncnn(state, label)


def trained_config(metadata: dict, label: str | Path) -> object:
    """The architecture options ``train`` wrote into a file's metadata (JSON); ``WeightsError`` if unreadable."""
    try:
        return json.loads(metadata.get("config", "{}"))
    except ValueError as error:
        raise WeightsError(f"{label}: its metadata 'config' is not JSON ({error}); write it again with "
                           "python -m denoise_core train") from None
