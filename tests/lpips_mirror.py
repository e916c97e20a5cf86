"""A mirror folder for the LPIPS weights: the real v0.1 head beside an AlexNet file built here."""
from pathlib import Path

import torch

from denoise_core import weights
from denoise_core.models import LPIPSAlex
from denoise_core.weights import Source

HEAD = Path(__file__).resolve().parents[2] / "shared" / "reference_weights" / "lpips_v0.1" / "alex.pth"


def lpips_mirror(folder: Path, monkeypatch) -> Path:
    """``folder`` holding ``alex.pth`` (the real head) and a built ``alexnet-owt-7be5be79.pth``; only the AlexNet's
    pin in ``weights.DOWNLOADS["lpips"]`` is replaced, by the built file's sha256."""
    folder.mkdir()
    (folder / "alex.pth").write_bytes(HEAD.read_bytes())
    torch.manual_seed(0)
    alexnet_file = folder / "alexnet-owt-7be5be79.pth"
    torch.save({k: v for k, v in LPIPSAlex().state_dict().items() if k.startswith("features.")}, alexnet_file)
    alexnet, head = weights.DOWNLOADS["lpips"]
    monkeypatch.setitem(weights.DOWNLOADS, "lpips", (Source(alexnet.url, weights.sha256(alexnet_file), "pinned"), head))
    return folder
