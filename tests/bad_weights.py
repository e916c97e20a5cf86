"""Hostile and broken weights files, built on the spot, for the import tests of the CLI and the Model Lab."""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import torch
from safetensors.torch import save

from denoise_core.models import DnCNN, FFDNet


class Evil:
    """Unpickling this runs ``os.mkdir(marker)``: a ``.pth`` holding it must be refused, never executed."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def _pth(state: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _ffdnet(config: str, arch: str = "ffdnet") -> bytes:
    """Safetensors of a tiny FFDNet whose metadata says ``arch`` with options ``config`` (a JSON string)."""
    state = {k: v.contiguous() for k, v in FFDNet(depth=3, width=8).state_dict().items()}
    return save(state, metadata={"arch": arch, "config": config})


def published_dncnn(depth: int = 5, width: int = 16) -> dict:
    """A DnCNN state dict in the published merged layout (``model.N.*``)."""
    state = DnCNN(depth=depth, width=width, batch_norm=False).state_dict()
    return {k.replace("dncnn.", "model."): v for k, v in state.items()}


def _wrong_shapes() -> dict:
    state = published_dncnn()
    state["model.2.weight"] = torch.zeros(16, 15, 3, 3)
    return state


BAD_FILES = {  # file name -> its bytes, given the folder where a malicious file would leave its mark
    "garbage.safetensors": lambda marker: os.urandom(512),
    "truncated.safetensors": lambda marker: _ffdnet('{"depth": 3, "width": 8}')[:700],
    "bad_metadata_json.safetensors": lambda marker: _ffdnet("{depth: 3"),
    "metadata_not_an_object.safetensors": lambda marker: _ffdnet("[3, 8]"),
    "unknown_option.safetensors": lambda marker: _ffdnet('{"depth": 3, "width": 8, "colour": 1}'),
    "huge_option.safetensors": lambda marker: _ffdnet('{"depth": 3, "width": 200000}'),
    "superres_arch.safetensors": lambda marker: _ffdnet("{}", arch="rrdbnet"),
    "malicious.pth": lambda marker: _pth({"model.0.weight": Evil(marker)}),
    "malicious_plain_pickle.pth": lambda marker: pickle.dumps({"model.0.weight": Evil(marker)}, protocol=4),
    "too_few_layers.pth": lambda marker: _pth({k: v for k, v in published_dncnn().items()
                                               if k.split(".")[1] in ("0", "2")}),
    "no_convolutions.pth": lambda marker: _pth({"model.0.bias": torch.zeros(3)}),
    "non_tensor_values.pth": lambda marker: _pth({"model.0.weight": 3, "model.2.weight": "x"}),
    "zero_sized.pth": lambda marker: _pth({**published_dncnn(), "model.0.weight": torch.zeros(16, 0, 3, 3)}),
    "not_a_layer_number.pth": lambda marker: _pth({"model.x.weight": torch.zeros(8, 1, 3, 3)}),
    "wrong_shapes.pth": lambda marker: _pth(_wrong_shapes()),
    "not_finite.pth": lambda marker: _pth({**published_dncnn(), "model.0.bias": torch.full((16,), float("nan"))}),
    "a_list.pth": lambda marker: _pth([1, 2, 3]),
    "empty.pth": lambda marker: b"",
}
