"""What a training run is, without torch: its configuration (``TrainConfig``, ``NoiseSpec``) and choices.

``loop.train`` runs one; the command line builds one from its arguments (``cli``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ..paths import TRAIN_DATA

LOSSES = ("l1", "mse", "ssim", "mse+ssim")
SCHEDULES = ("cosine", "step", "constant")


@dataclass
class NoiseSpec:
    """One noise model of a training run's mix.

    ``ranges`` maps a parameter to ``(lo, hi)`` or ``(lo, hi, "log")``: each use draws it uniformly
    (log-uniformly), e.g. ``{"sigma": (0, 55/255)}`` for a blind Gaussian model; ``params`` fixes the
    others; ``val`` sets the validation parameters (default: the middle of each range).

    ``weight`` sets how often patches get this noise, relative to the other models of the mix.

    ``pool`` > 0 is for noise that depends on the whole image (CT projections, a global SNR) or is
    slow: each training image is noised ``pool`` times before training and patches are cut from
    those pairs. Their noise level is then the blind estimate on the whole noisy image, exactly what
    the app gives the network; otherwise it is ``sigma`` when the model has one, else the noise's std.
    Levels stop at ``learned.SIGMA_MAX``, as the app's do. A multiplicative network (FFDNet's
    ``multiplicative``) is given the relative std instead: ``sqrt`` of the speckle variance measured on
    the whole noisy image with ``pool``, else the noise's std over the clean image's RMS.
    """

    model: str = "gaussian"
    params: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    val: dict | None = None
    pool: int = 0
    weight: float = 1.0


@dataclass
class TrainConfig:
    """Everything one training run needs; ``train`` writes it into the weights file's metadata.

    ``noises`` is the mix of noise models: each patch draws one of them, in proportion to their weights.
    ``init`` starts from a weights entry's name or a ``.safetensors`` file written by ``train``
    (fine-tuning); its architecture and configuration then replace ``arch`` and ``arch_config``,
    except the options ``arch_config`` names (those that leave the weights' shapes alone, such as
    FFDNet's ``impulses``).
    The learning rate follows ``schedule`` over the run's progress, the larger of ``step / steps``
    and ``elapsed / max_seconds``, so a time-limited run still ends with a small learning rate.
    ``amp`` (mixed precision: float16 autocast with a gradient scaler) applies on CUDA only, where
    ``None`` means on; the CPU always trains in float32. The weights' metadata records what ran.
    """

    out: str = "runs/model"
    arch: str = "ffdnet"
    arch_config: dict = field(default_factory=dict)
    init: str | None = None
    data: str = str(TRAIN_DATA)
    val_images: int = 8
    noises: list = field(default_factory=lambda: [NoiseSpec("gaussian", ranges={"sigma": (0.0, 55 / 255)})])
    patch: int = 64
    batch: int = 32
    steps: int = 10000
    max_seconds: float | None = None
    lr: float = 1e-3
    lr_min: float = 1e-5
    schedule: str = "cosine"
    warmup: int = 0
    """Steps of linear warm-up from zero (for fine-tuning: Adam's first steps from converged weights undo them)."""
    loss: str = "l1"
    seed: int = 0
    val_every: int = 200
    checkpoint_every: int = 500
    run_dir: str | None = None
    resume: bool = False
    device: str = "auto"
    amp: bool | None = None
    threads: int | None = None
    title: str = ""

    def __post_init__(self):
        self.noises = [spec if isinstance(spec, NoiseSpec) else NoiseSpec(**spec) for spec in self.noises]

    @property
    def noise_name(self) -> str:
        """The noise models of the mix, joined with ``+`` (e.g. ``gaussian+ct_lowdose``)."""
        return "+".join(dict.fromkeys(spec.model for spec in self.noises))
