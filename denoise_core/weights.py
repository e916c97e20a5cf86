"""Weights: the catalog of shipped files, imported ones, published ones fetched on request, and safe loading.

Four sources, one ``Entry`` type:

* **shipped**: ``weights/<name>.safetensors`` in the project with a model card ``weights/<name>.md``;
  ``CATALOG`` records each file's sha256.
* **imported**: a user's own file (``python -m denoise_core weights import PATH --name NAME``),
  converted to ``<cache>/weights/NAME.safetensors`` and recorded in ``<cache>/weights/catalog.json``.
  ``NAME`` follows the registry's name rule and is the only input a path is built from: an upload is
  copied to a temporary file of our own naming, and the catalog's stored paths are never read back.
  The published DnCNN layouts are recognised: ``module.dncnn.N.*`` (with batch norm, saved from
  ``nn.DataParallel``) and ``model.N.*`` (batch norm merged into the convolutions); so is DRUNet's
  (``m_head``, ``m_down1..3``, ``m_body``, ``m_up3..1``, ``m_tail``: ``drunet_gray.pth``, ``drunet_color.pth``).
* **zoo**: the published denoisers of ``zoo.ZOO`` (``python -m denoise_core weights fetch NAME [--mirror DIR]``),
  kept as their official ``.pth`` files in ``<cache>/zoo/`` and loaded with ``weights_only=True``.
* **downloads** (``DOWNLOADS``): other files that cannot ship (the LPIPS and Real-ESRGAN weights), fetched the
  same way into ``<cache>/<name>/``.

The cache folder is ``$DENOISE_WORKBENCH_CACHE`` or ``~/.cache/denoise-workbench`` (``fetch.py`` downloads:
mirror, resume, progress, hash policy). Every load checks sha256 and uses safetensors or
``torch.load(weights_only=True)`` and ``strict=True``; a missing, corrupted or mismatching file raises
``WeightsError`` naming the file and the fix.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path, PureWindowsPath

from typing import TYPE_CHECKING

from safetensors import SafetensorError, safe_open

from . import fetch as fetching
from . import registry
from .errors import InvalidParameterError, WeightsError, one_line
from .fetch import HASH_NOTES, Source, sha256, write_atomically
from .paths import WEIGHTS_DIR, cache_dir
from .zoo import ZOO, Published, size_label

if TYPE_CHECKING:
    import torch

MAX_SHIPPED_BYTES = 10 * 1024 * 1024


NOISE_MAP_OPTION: dict[str, bool | None] = {"dncnn": None, "ffdnet": True, "unet": None, "autoencoder": None,
                                            "drunet": True}
"""The denoiser architectures (``models.ARCHITECTURES`` less the super-resolution ones) and the default of
each one's ``noise_map`` option (None: it has none), known without importing torch."""
DENOISERS = tuple(NOISE_MAP_OPTION)


def takes_noise_map(arch: str, config: dict) -> bool:
    """Whether ``ARCHITECTURES[arch](**config)`` takes the noise level as an input: its ``noise_map`` option,
    the architecture's default when ``config`` leaves it out; False for an architecture without one."""
    default = NOISE_MAP_OPTION.get(arch)
    return default is not None and bool(config.get("noise_map", default))


@dataclass(frozen=True)
class Entry:
    """One weights file and what it is.

    ``path`` is absolute, or relative to ``weights/``. ``config`` rebuilds the network:
    ``models.ARCHITECTURES[arch](**config)``. ``noise`` says what it was trained for (shown in the app);
    ``modality`` ("CT", "X-ray" or "MRI") the kind of image, when it was trained on one.
    """

    name: str
    path: str
    sha256: str
    arch: str
    config: dict
    title: str
    noise: str = "gaussian"
    source: str = "shipped"
    tags: tuple[str, ...] = ()
    sigma_range: tuple[float, float] | None = None
    modality: str | None = None
    rename: tuple[tuple[str, str], ...] = ()
    """(prefix in the file, prefix in our network) pairs for a published file's keys."""
    hash_note: str = ""
    """How the file's sha256 was accepted, for a fetched file (``fetch.HASH_NOTES``' values)."""

    @property
    def file(self) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else WEIGHTS_DIR / path

    @property
    def card(self) -> Path | None:
        """The model card (``<name>.md`` beside the weights), when there is one."""
        card = self.file.with_suffix(".md")
        return card if card.exists() else None

    @property
    def noise_map(self) -> bool:
        """Whether the network takes the noise level as an input (a ``sigma`` parameter)."""
        return takes_noise_map(self.arch, self.config)

    @property
    def multiplicative(self) -> bool:
        """Whether the noise map grows with brightness: the network takes a speckle ``var`` parameter."""
        return self.noise_map and bool(self.config.get("multiplicative", False))

    @property
    def channels(self) -> int:
        return int(self.config.get("channels", 1))


BLIND = (0.0, 0.2157)
"""The σ range of the blind Gaussian models: 0–55/255."""


def _gray_ffdnet(name: str, sha256: str, title: str, *, options: dict | None = None, **about) -> Entry:
    """A shipped gray FFDNet: the architecture of ``ffdnet_gray_blind`` and of every model fine-tuned from it
    (``options`` adds those that keep its weights' shapes, such as ``impulses``)."""
    return Entry(name, f"{name}.safetensors", sha256, "ffdnet",
                 {"channels": 1, "depth": 12, "width": 64, "noise_map": True, **(options or {})}, title, **about)


def _dncnn(name: str, sha256: str, title: str, **about) -> Entry:
    """A shipped gray DnCNN: 17 layers of 64 channels with batch norm (the paper's DnCNN-S layout)."""
    return Entry(name, f"{name}.safetensors", sha256, "dncnn",
                 {"channels": 1, "depth": 17, "width": 64, "batch_norm": True}, title, **about)


def _drunet(name: str, sha256: str, channels: int, title: str) -> Entry:
    """A shipped flagship: a blind Gaussian DRUNet-style residual U-Net (32 channels, 3 levels, 2 blocks)."""
    return Entry(name, f"{name}.safetensors", sha256, "drunet",
                 {"channels": channels, "width": 32, "levels": 3, "blocks": 2, "noise_map": True, "residual": True},
                 title, sigma_range=BLIND)


# Files shipped in weights/ (sha256 of the file as committed). Each has a model card <name>.md.
CATALOG: dict[str, Entry] = {entry.name: entry for entry in (
    _drunet("drunet_gray_blind", "b8a4c39c46d380ab62d287c50148d07a796daeee6f471f7a974de16e1c9be330", 1,
            "DRUNet-style gray, blind Gaussian σ 0–55 (CPU run)"),
    _drunet("drunet_color_blind", "743ee02617e8af2af298d17e1ab2e3d468f0bc51b98f8e573fa2adfca469e69d", 3,
            "DRUNet-style colour, blind Gaussian σ 0–55 (CPU run)"),
    _gray_ffdnet("ffdnet_gray_blind", "f766bfbf1272120fe89997e5199dc639afb08e59a77b2de899eefc6a04906964",
                 "FFDNet gray, blind Gaussian σ 0–55 (CPU run)", sigma_range=BLIND),
    _dncnn("dncnn_gray_blind", "50d46d04d46b88fb64f934c1a05095a03cc2cca2e72137348c027f9c2587ea8a",
           "DnCNN gray, blind Gaussian σ 0–55 (CPU run)", sigma_range=BLIND),
    _dncnn("dncnn_s15", "d0421dc230dfb34d11f0263ff38a2c89bb535e95c1d34da0df8f6e634c42c338",
           "DnCNN-S gray, Gaussian σ 15 (fine-tuned, CPU run)", sigma_range=(0.058824, 0.058824)),
    _dncnn("dncnn_s25", "40cf2a448f70f736aa24823ecc5fe742532396b150bb2731b978fb0c763bcca9",
           "DnCNN-S gray, Gaussian σ 25 (fine-tuned, CPU run)", sigma_range=(0.098039, 0.098039)),
    _dncnn("dncnn_s50", "62afee409c1533406251b2bcefd25b947fc13a42370ec3af3dadaf8c078eef72",
           "DnCNN-S gray, Gaussian σ 50 (fine-tuned, CPU run)", sigma_range=(0.196078, 0.196078)),
    Entry("dncnn_color_blind", "dncnn_color_blind.safetensors",
          "7278e091943b96f27ff0076a24135918d690256721c08c1ce52502b9b79f0ea4", "dncnn",
          {"channels": 3, "depth": 17, "width": 64, "batch_norm": False},
          "DnCNN colour, blind Gaussian σ 0–55 (short CPU run: below the gray models)", sigma_range=BLIND),
    Entry("unet_gray_blind", "unet_gray_blind.safetensors",
          "0ca6718619db4b95bc8e37569b54e31917f93d02c0304286e5b2b46982cc8223", "unet",
          {"channels": 1, "width": 32, "levels": 3},
          "U-Net gray, blind Gaussian σ 0–55 (CPU run)", sigma_range=BLIND),
    Entry("autoencoder_gray_blind", "autoencoder_gray_blind.safetensors",
          "70075a314bb25166e9a48ba08edd0d8eed715494aa28e1779d4b99032168e170", "autoencoder",
          {"channels": 1, "width": 64},
          "Autoencoder gray, blind Gaussian σ 0–55 (CPU run)", sigma_range=BLIND),
    _gray_ffdnet("ffdnet_ct", "52b80d2638f36cf5b54749ad506782d9d6337a1d698155f6981c6de452b4d443",
                 "FFDNet CT, blind Gaussian σ 0–55 (fine-tuned, CPU run)", sigma_range=BLIND, modality="CT"),
    _gray_ffdnet("ffdnet_ct_lowdose", "f14b0e0ab652e661014091efc68af3c8486b68b017b1bddf38d3f61f76d413ce",
                 "FFDNet low-dose CT, 10³–3·10⁵ photons (fine-tuned, CPU run)", noise="ct_lowdose", modality="CT"),
    _gray_ffdnet("ffdnet_mri", "dda810c2ff990d21b363001609c175c20a91010ab1407c1fb8f71e36ad1b1e15",
                 "FFDNet MRI, blind Gaussian σ 0–55 (fine-tuned, CPU run)", sigma_range=BLIND, modality="MRI"),
    _gray_ffdnet("ffdnet_xray", "54cacdd04c34989dbd57acceda0c04781da6de47542d7e00b474b532685e3229",
                 "FFDNet X-ray, blind Gaussian σ 0–55 (fine-tuned, CPU run)", sigma_range=BLIND, modality="X-ray"),
    _gray_ffdnet("ffdnet_mixed", "d5a06ef6845a89e7115bb6a60f6cd8179cd93ca4a448a4dfe48205465902d408",
                 "FFDNet gray, mixed noise and scribbles, impulses filled first (fine-tuned, CPU run)", noise="mixed",
                 options={"impulses": "fill"}),
    _gray_ffdnet("ffdnet_speckle", "f3e7b52ebe154bcddc7ee8dcf78887d245590c8816bbec4107916c0ae6b11324",
                 "FFDNet gray, speckle var 0.006–0.15, multiplicative noise map (fine-tuned, CPU run)", noise="speckle",
                 options={"multiplicative": True}),
    _gray_ffdnet("ffdnet_poisson", "20762b7e4d47ee26e2957ac99e4d1ee25234f93f0820cbde3e881eb68de2135a",
                 "FFDNet gray, Poisson peak 3–150 (fine-tuned, CPU run)", noise="poisson"),
    _gray_ffdnet("ffdnet_salt_pepper", "28209dc4754569ccd33aea6509e930ee0de48f0255f0d0aa722d8501f38774e7",
                 "FFDNet gray, salt and pepper 0.5–50%, switching (fine-tuned, CPU run)", noise="salt_pepper",
                 options={"impulses": "switch"}),
)}


DOWNLOADS: dict[str, tuple[Source, ...]] = {
    "lpips": (
        # torchvision's AlexNet (ImageNet); torchvision names the file after the first 8 hex digits of its sha256.
        Source("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
               "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", "pinned"),
        # LPIPS v0.1 linear heads (richzhang/PerceptualSimilarity, BSD-2-Clause), as packaged in lpips 0.1.4.
        Source("https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
               "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", "pinned", 6_009),
    ),
    # Real-ESRGAN (xinntao/Real-ESRGAN, BSD-3-Clause) official releases; the digests are published identically
    # by several independent projects that pin these files.
    "realesrgan_x4plus": (
        Source("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
               "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1", "pinned"),
    ),
    "realesr_general_x4v3": (
        Source("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
               "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292", "pinned"),
    ),
}
DOWNLOAD_TITLES = {"lpips": "LPIPS: AlexNet ImageNet weights (torchvision) + v0.1 linear heads (233 MB)",
                   "realesrgan_x4plus": "Real-ESRGAN x4plus (RRDBNet, 67 MB)",
                   "realesr_general_x4v3": "Real-ESRGAN general x4v3 (SRVGGNetCompact, 4.9 MB)"}


# ------------------------------------------------------------------------------------------- folders
def _imported_catalog() -> Path:
    return cache_dir() / "weights" / "catalog.json"


def _imported_file(name: str) -> Path:
    """Where imported weights ``name`` (already checked by ``registry.check_name``) live in the cache."""
    return cache_dir() / "weights" / f"{name}.safetensors"


# -------------------------------------------------------------------------------------------- hashes
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


# ------------------------------------------------------------------------------------------- catalog
def _entry_from_json(item: dict) -> Entry:
    """An imported entry read back: its file is always ``<cache>/weights/<name>.safetensors``, never a path
    taken from the JSON, and its name follows the registry's rule."""
    name = registry.check_name(item["name"], "imported weights name")
    if item.get("arch") not in DENOISERS or not isinstance(item.get("config"), dict):
        raise ValueError(f"entry {name!r} lacks a denoiser architecture and its configuration")
    fields = {**item, "path": str(_imported_file(name)), "sha256": str(item["sha256"]), "source": "imported",
              "title": one_line(item.get("title", name), 200), "tags": tuple(map(str, item.get("tags", ())))}
    if item.get("sigma_range") is not None:
        fields["sigma_range"] = tuple(map(float, item["sigma_range"]))
    return Entry(**fields)


def imported() -> dict[str, Entry]:
    """Entries the user imported (``weights import``), from the cache folder's catalog."""
    path = _imported_catalog()
    if not path.exists():
        return {}
    try:
        found = [_entry_from_json(item) for item in json.loads(path.read_text())]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise WeightsError(f"{path}: unreadable catalog of imported weights ({one_line(error, 200)}); "
                           "delete it and import again") from None
    return {entry.name: entry for entry in found}


def _write_catalog(known: dict[str, Entry]) -> None:
    text = json.dumps([asdict(entry) for entry in known.values()], indent=1)
    write_atomically(_imported_catalog(), lambda tmp: Path(tmp).write_text(text))


def zoo_folder() -> Path:
    """Where the published files of ``zoo.ZOO`` are kept once fetched, with their ``index.json``."""
    return cache_dir() / "zoo"


def zoo_entry(published: Published, index: dict[str, dict] | None = None) -> Entry | None:
    """The weights entry of a fetched published model; None while its file is not in the cache (``index``: the
    zoo folder's, read here when not given)."""
    have = fetching.cached(published.source, zoo_folder(), index)
    if have is None:
        return None
    title = published.title + (" — hash not published" if have.hash == "first use" else "")
    return Entry(published.name, str(have.path), have.sha256, published.arch, published.config, title,
                 source="zoo", tags=("published",), sigma_range=published.sigma_range, rename=published.rename,
                 hash_note=HASH_NOTES[have.hash])


def fetched_zoo() -> dict[str, Entry]:
    """The published models whose files are in the cache."""
    index = fetching.read_index(zoo_folder())
    found = {name: zoo_entry(published, index) for name, published in ZOO.items()}
    return {name: entry for name, entry in found.items() if entry is not None}


def entries() -> dict[str, Entry]:
    """Every known weights entry: shipped, imported, then fetched published ones."""
    return {**CATALOG, **imported(), **fetched_zoo()}


def get_entry(name: str) -> Entry:
    known = entries()
    if name not in known:
        raise WeightsError(f"unknown weights '{name}' (known: {', '.join(known) or 'none'}; "
                           "see python -m denoise_core weights list)")
    return known[name]


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
    from .models import ARCHITECTURES

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


def save_weights(path: str | Path, model: torch.nn.Module, metadata: dict[str, str]) -> Path:
    """Write ``model``'s state dict as safetensors with string ``metadata`` (atomically); returns the path."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return write_atomically(Path(path).with_suffix(".safetensors"),
                             lambda tmp: save_file(state, tmp, metadata=metadata))


def status(entry: Entry) -> str:
    """``ok``, ``missing`` or ``corrupted`` (sha256 mismatch)."""
    try:
        verify(entry.file, entry.sha256, "")
    except WeightsError as error:
        return "missing" if "not found" in str(error) else "corrupted"
    return "ok"


# ------------------------------------------------------------------------------------------ download
def renamed(state: dict, rename: tuple[tuple[str, str], ...]) -> dict:
    """``state`` with each key's first matching prefix of ``rename`` (file prefix, ours) replaced."""
    def key(name: str) -> str:
        old, new = next(((a, b) for a, b in rename if name.startswith(a)), ("", ""))
        return new + name[len(old):]
    return {key(name): value for name, value in state.items()}


def download_dir(name: str) -> Path:
    return cache_dir() / name


def fetched_paths(name: str) -> list[Path]:
    """Where the files of download ``name`` live once fetched (they may not exist)."""
    return [download_dir(name) / item.filename for item in DOWNLOADS[name]]


def fetched(name: str) -> bool:
    """Whether every file of download ``name`` is present (sha256 is checked when they are loaded)."""
    return all(path.is_file() for path in fetched_paths(name))


def fetchable() -> list[str]:
    """Names ``fetch`` takes: the published models, then the other downloads."""
    return [*ZOO, *DOWNLOADS]


def fetch(name: str, *, mirror: str | Path | None = None, trust: bool = False,
          progress: fetching.Progress | None = None) -> list[fetching.Fetched]:
    """Fetch the file(s) of published model or download ``name`` into the cache (``fetch.fetch``: official
    address or ``mirror``, resumed, hash-checked); a published model's file is then checked to load into its
    network (``strict``). ``progress(done, total)`` is called per file."""
    if name in ZOO:
        got = [fetching.fetch(ZOO[name].source, zoo_folder(), mirror=mirror, trust=trust, progress=progress)]
        entry = zoo_entry(ZOO[name])
        try:
            build_network(entry.arch, entry.config, load_state(entry), str(entry.file))
        except WeightsError:
            fetching.forget(zoo_folder(), ZOO[name].source.filename)
            raise
        return got
    if name not in DOWNLOADS:
        raise InvalidParameterError(f"nothing to fetch called '{name}' (valid: {', '.join(fetchable())})")
    return [fetching.fetch(item, download_dir(name), mirror=mirror, trust=trust, progress=progress)
            for item in DOWNLOADS[name]]


def zoo_summary(published: Published) -> str:
    """One line for a published model: size, licence, the paper's numbers."""
    numbers = ", ".join(f"{key} {value:.2f} dB" for key, value in published.psnr.items())
    return f"{size_label(published)}, licence {published.licence}; paper: {numbers}"


# -------------------------------------------------------------------------------------- import (BYOW)
UPLOAD_SUFFIXES = {".pth": ".pth", ".pt": ".pth", ".safetensors": ".safetensors"}
"""An upload's extension -> the suffix of the temporary file it is written to (its name is never a path)."""
EXPORT_FIX = "export the model's state_dict() and try again"
_DNCNN_KEY = re.compile(r"dncnn\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)")


def upload_label(filename: str) -> str:
    """How an uploaded file is named in messages: the last part of the client's name, on one line."""
    return one_line(PureWindowsPath(str(filename)).name, 80) or "upload"


def upload_suffix(filename: str) -> str:
    """The suffix our temporary copy of an upload gets, chosen from ``UPLOAD_SUFFIXES`` by its extension."""
    suffix = PureWindowsPath(str(filename)).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise WeightsError(f"{upload_label(filename)}: not a weights file (expected {', '.join(UPLOAD_SUFFIXES)})")
    return UPLOAD_SUFFIXES[suffix]


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

    from .models import ARCHITECTURES

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


def import_weights(path: str | Path, name: str, *, title: str = "", noise: str = "gaussian",
                   label: str | None = None) -> Entry:
    """Convert a weights file into the cache folder and record it; returns the new ``Entry``.

    Recognised: the published DnCNN and DRUNet layouts (``.pth``, loaded with ``weights_only=True``) and
    safetensors files written by ``train`` (their metadata names the architecture). The new
    denoiser is registered as ``name`` the next time the library is imported. ``name`` follows
    ``registry.NAME_RULE`` and alone makes the file's path in the cache; ``label`` names the file in
    messages and the title (default: ``path``; an upload's own name, as ``path`` is our temporary copy).

    Raises
    ------
    WeightsError
        Unreadable file, unrecognised layout or shapes. ``InvalidParameterError`` for a bad or taken name.
    """
    path, label = Path(path), one_line(label or path, 200)
    registry.check_name(name, "weights name")
    known = imported()
    if name in CATALOG or name in ZOO:
        raise InvalidParameterError(f"name '{name}' is a shipped or published model; choose another --name")
    if name in registry.names("denoiser") and name not in known:
        raise InvalidParameterError(f"name '{name}' is already a denoiser; choose another --name")
    if not path.is_file():
        raise WeightsError(f"{label}: no such file (give the path of a .pth or .safetensors file)")
    metadata = read_metadata(path, label) if path.suffix == ".safetensors" else {}
    state = read_state_dict(path, label=label)
    if metadata.get("arch"):
        arch, config = metadata["arch"], trained_config(metadata, label)
        model = build_network(arch, config, state, label)
        noise = metadata.get("noise", noise)
    else:
        arch, model = convert_published(state, label)
        config = model.config()
    dest = save_weights(_imported_file(name), model, {"arch": arch, "config": json.dumps(config), "source": label})
    entry = Entry(name=name, path=str(dest), sha256=sha256(dest), arch=arch, config=config,
                  title=one_line(title, 200) or f"{name} (imported from {label})", noise=one_line(noise, 40),
                  source="imported", tags=("imported",))
    _write_catalog({**known, name: entry})
    return entry


def remove_imported(name: str) -> None:
    """Forget an imported entry and delete its converted file."""
    items = imported()
    if name not in items:
        raise WeightsError(f"no imported weights called {name!r} (see python -m denoise_core weights list)")
    Path(items.pop(name).path).unlink(missing_ok=True)
    _write_catalog(items)


# ----------------------------------------------------------------------------------------------- CLI
def list_rows() -> list[dict]:
    """``weights list``: one row per entry, published model and download, with its status."""
    rows = [{"name": e.name, "source": e.source, "arch": e.arch, "status": status(e), "path": str(e.file),
             "title": e.title, "hash": e.hash_note} for e in entries().values()]
    fetch_hint = "not fetched (python -m denoise_core weights fetch {})"
    rows += [{"name": name, "source": "zoo", "arch": p.arch, "status": "downloadable", "path": "",
              "title": f"{p.title}: {zoo_summary(p)}", "hash": ""}
             for name, p in ZOO.items() if zoo_entry(p) is None]
    rows += [{"name": name, "source": "download", "arch": "", "path": str(download_dir(name)),
              "status": "fetched" if fetched(name) else fetch_hint.format(name), "title": DOWNLOAD_TITLES[name],
              "hash": ""} for name in DOWNLOADS]
    return rows
