"""Weights files: sha256, atomic writes, reading and writing state dicts, and the one load of an entry.

Every load checks sha256 and uses safetensors or ``torch.load(weights_only=True)`` and ``strict=True``; a
missing, corrupted or mismatching file raises ``WeightsError`` naming the file and the fix. Torch is
imported only by the functions that read or write tensors.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError, safe_open

from ..errors import WeightsError, one_line
from ..paths import write_atomically

if TYPE_CHECKING:
    import torch

    from .catalog import Entry

CHUNK = 1 << 20
EXPORT_FIX = "export the model's state_dict() and try again"


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


_VERIFIED: dict[tuple[str, int, int], str] = {}


def verify(path: str | Path, expected: str, fix: str) -> Path:
    """``path`` if it exists and its sha256 starts with ``expected`` (a full digest or a prefix).

    Raises
    ------
    WeightsError
        Missing file or sha256 mismatch; the message names the file and ``fix``.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found ({fix})")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    digest = _VERIFIED.get(key) or sha256(path)
    if not digest.startswith(expected.lower()) or not expected:
        raise WeightsError(f"{path}: sha256 {digest[:12]}… does not match the catalog's {expected[:12]}… "
                           f"(file corrupted or replaced; {fix})")
    _VERIFIED[key] = digest
    return path


def _checked_state(state: object, label: str, fix: str) -> dict:
    """``state`` if it is a non-empty dict of finite, dense, non-empty tensors (floating point, or a batch-norm
    counter) under string keys; else ``WeightsError`` naming the first bad entry."""
    import torch

    if not isinstance(state, dict) or not state:
        raise WeightsError(f"{label}: expected a state dict of tensors; {fix}")
    for key, value in state.items():
        if not (isinstance(key, str) and isinstance(value, torch.Tensor) and value.layout == torch.strided
                and (value.is_floating_point() or key.endswith("num_batches_tracked"))
                and value.numel() and bool(torch.isfinite(value).all())):
            raise WeightsError(f"{label}: entry {one_line(key, 60)!r} is not a finite, non-empty floating-point "
                               f"tensor; {fix}")
    return state


def read_metadata(path: Path, label: str | None = None) -> dict:
    """The string metadata of a ``.safetensors`` file; ``WeightsError`` when it is not one."""
    try:
        with safe_open(str(path), "pt") as handle:
            return handle.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"{label or path}: not a readable safetensors file ({one_line(error, 200)}); "
                           f"{EXPORT_FIX}") from None


def read_state_dict(path: Path, fix: str = EXPORT_FIX, *, label: str | None = None) -> dict:
    """The tensors of a ``.safetensors`` file or a ``.pth`` read with ``weights_only=True``.

    Common wrappers (``state_dict``, ``model``, ``params_ema``, ``params``) are unwrapped; a file that
    is not a state dict of finite tensors raises ``WeightsError`` naming it (``label``, default ``path``)
    and ``fix``.
    """
    import torch
    from safetensors.torch import load_file

    label = label or str(path)
    if path.suffix == ".safetensors":
        try:
            return _checked_state(load_file(str(path)), label, fix)
        except (SafetensorError, OSError) as error:
            raise WeightsError(f"{label}: not a readable safetensors file ({one_line(error, 200)}); {fix}") from None
    try:
        with warnings.catch_warnings():  # torch warns about a plain pickle's protocol; the outcome says it all
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle errors of many kinds: report them as one
        raise WeightsError(f"{label}: not a PyTorch state dict readable with weights_only=True "
                           f"({type(error).__name__}); {fix}") from None
    for key in ("state_dict", "model", "params_ema", "params"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return _checked_state(state, label, fix)


def save_weights(path: str | Path, model: torch.nn.Module, metadata: dict[str, str]) -> Path:
    """Write ``model``'s state dict as safetensors with string ``metadata`` (atomically); returns the path."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return write_atomically(Path(path).with_suffix(".safetensors"),
                             lambda tmp: save_file(state, tmp, metadata=metadata))


def renamed(state: dict, rename: tuple[tuple[str, str], ...]) -> dict:
    """``state`` with each key's first matching prefix of ``rename`` (file prefix, ours) replaced."""
    def key(name: str) -> str:
        old, new = next(((a, b) for a, b in rename if name.startswith(a)), ("", ""))
        return new + name[len(old):]
    return {key(name): value for name, value in state.items()}


def fix_for(entry: Entry) -> str:
    if entry.source == "zoo":
        return f"fetch it again: python -m denoise_core weights fetch {entry.name} --trust (or delete {entry.file})"
    if entry.source == "imported":
        return f"import it again: python -m denoise_core weights import PATH --name {entry.name}"
    return f"restore weights/{entry.file.name} from the repository (git checkout -- weights/{entry.file.name})"


def load_state(entry: Entry) -> dict:
    """The verified state dict of ``entry`` (safetensors, CPU tensors)."""
    from safetensors.torch import load_file

    path = verify(entry.file, entry.sha256, fix_for(entry))
    if path.suffix == ".pth":
        return renamed(read_state_dict(path, fix_for(entry)), entry.rename)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"{path}: not a readable safetensors file ({error}); {fix_for(entry)}") from None


def load_model(entry: Entry):
    """The network of ``entry`` with its weights (``strict=True``), in eval mode, on the CPU."""
    from ..models import ARCHITECTURES

    if entry.arch not in ARCHITECTURES:
        raise WeightsError(f"{entry.file}: unknown architecture '{entry.arch}' (valid: {', '.join(ARCHITECTURES)})")
    model = ARCHITECTURES[entry.arch](**entry.config)
    try:
        model.load_state_dict(load_state(entry), strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise WeightsError(f"{entry.file}: does not fit {entry.arch} {entry.config} ({first}); {fix_for(entry)}") \
            from None
    return model.eval()


def status(entry: Entry) -> str:
    """``ok``, ``missing`` or ``corrupted`` (sha256 mismatch)."""
    try:
        verify(entry.file, entry.sha256, "")
    except WeightsError as error:
        return "missing" if "not found" in str(error) else "corrupted"
    return "ok"
