"""What a weights entry is, and the files shipped in ``weights/``.

An ``Entry`` names one weights file and the network that holds it (``models.ARCHITECTURES[arch](**config)``),
whatever its source: shipped, imported (``imports``) or published and fetched (``zoo``). The shipped ones are
``weights/<name>.safetensors`` in the project, each with a model card ``weights/<name>.md``; ``CATALOG``
records each file's sha256. No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..paths import WEIGHTS_DIR

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
    """How the file's sha256 was accepted, for a fetched file (``download.HASH_NOTES``' values)."""

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
MEASURED: dict[str, dict[str, float]] = {
    "drunet_gray_blind": {"BSD68 σ15": 31.38, "BSD68 σ25": 28.93, "BSD68 σ50": 25.99},
    "ffdnet_gray_blind": {"BSD68 σ25": 28.43},
    "drunet_color_blind": {"CBSD68 σ25 (first 17)": 31.01},
}
"""Mean PSNR (dB) of shipped models by the BENCHMARK.md protocol, as their cards give them
(``benchmarks/learned_vs_reference.py``); the other cards give their own settings' numbers."""
