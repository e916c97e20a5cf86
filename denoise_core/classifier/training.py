"""Training the noise classifier: noisy crops of clean images for every class, their features, the MLP fit
and the validation report."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..apply import add_noise
from ..datasets import image_files
from ..errors import InvalidImageError
from ..image import read_image
from ..models import NoiseClassifier
from ..noise import mixed_recipe
from ..paths import TRAIN_DATA
from ..weights import save_weights, sha256
from .features import FEATURES, features
from .inference import CLASSES

TRAIN_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "clean": {},
    "gaussian": {"sigma": (3 / 255, 60 / 255)},
    "salt_pepper": {"amount": (0.005, 0.3), "salt_ratio": (0.2, 0.8)},
    "speckle": {"var": (0.006, 0.15)},
    "poisson": {"peak": (3.0, 150.0)},
    "jpeg": {"quality": (5, 60)},
    "scribbles": {"count": (2, 30), "thickness": (1, 6), "cross_ratio": (0.05, 0.95)},
    "mixed": {"strength": (0.15, 1.0)},
}
"""Parameter ranges of the training samples, a bit wider than ``EVAL_RANGES``; floats are drawn
log-uniformly, so the weak end, where the classes are hardest to tell apart, is well covered."""

EVAL_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "clean": {},
    "gaussian": {"sigma": (5 / 255, 50 / 255)},
    "salt_pepper": {"amount": (0.01, 0.2)},
    "speckle": {"var": (0.01, 0.1)},
    "poisson": {"peak": (5.0, 100.0)},
    "jpeg": {"quality": (10, 50)},
    "scribbles": {"count": (4, 16), "thickness": (1, 3)},
    "mixed": {"strength": (0.3, 0.7)},
}
"""Parameter ranges of the validation and held-out samples, drawn uniformly; scribbles and mixed
around their registered defaults (count 8, thickness 2; strength 0.5)."""

_FAMILY = {"rician": "gaussian", "low_light": None}
_CROP_SIDES = (96, 512)
_COLOUR_SHARE = 0.25
_SATURATED_SHARE = 0.3  # photographs often have clipped shadows and highlights
_SOURCE_JPEG_SHARE = 0.5  # photographs usually arrive as good JPEGs: clean does not mean blockless
_SOURCE_JPEG_QUALITY = (85, 95)


def draw_params(ranges: dict[str, tuple[float, float]], rng: np.random.Generator, *,
                log_scale: bool = False) -> dict:
    """One value per parameter: integers uniformly in [lo, hi], floats uniformly (or log-uniformly)."""
    params = {}
    for name, (lo, hi) in ranges.items():
        if isinstance(lo, int) and isinstance(hi, int):
            params[name] = int(rng.integers(lo, hi + 1))
        elif log_scale:
            params[name] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        else:
            params[name] = float(rng.uniform(lo, hi))
    return params


def add_class_noise(image: np.ndarray, label: str, params: dict, rng: np.random.Generator) -> np.ndarray:
    """``image`` with the noise of class ``label`` (a registered noise model, or clean).

    ``mixed`` is the registered model with a seed whose recipe has components of at least two
    noise families: with one it is one of the other classes. Rician counts as Gaussian (they differ
    only near black), and low light not at all: ``mixed`` gives it a third to a half of the noise
    std of the other components at mid-grey, a trace beside them.
    """
    if label == "clean":
        return image
    seed = int(rng.integers(2 ** 31))
    while label == "mixed" and len(_families(mixed_recipe(seed, strength=params["strength"]))) < 2:
        seed = int(rng.integers(2 ** 31))
    return add_noise(image, label, params, seed=seed)


def _families(recipe: list[tuple[str, dict]]) -> set[str]:
    return {_FAMILY.get(name, name) for name, _ in recipe} - {None}


def _mosaic_crop(images: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A crop of 96–512 pixels a side from a mosaic of randomly turned tiles of ``images``."""
    side = np.exp(rng.uniform(*np.log(_CROP_SIDES)))
    height, width = int(side), int(side * rng.uniform(0.6, 1.0))
    if rng.random() < 0.5:
        height, width = width, height
    tile = min(min(image.shape) for image in images)
    rows = []
    for _ in range(-(-height // tile)):
        row = []
        for _ in range(-(-width // tile)):
            image = images[rng.integers(len(images))]
            top, left = (rng.integers(n - tile + 1) for n in image.shape)
            piece = np.rot90(image[top:top + tile, left:left + tile], rng.integers(4))
            row.append(piece[:, ::-1] if rng.random() < 0.5 else piece)
        rows.append(np.hstack(row))
    mosaic = np.vstack(rows)
    top, left = rng.integers(mosaic.shape[0] - height + 1), rng.integers(mosaic.shape[1] - width + 1)
    return np.ascontiguousarray(mosaic[top:top + height, left:left + width], dtype=np.float32)


def training_source(images: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A clean training image: a mosaic crop, by chance over-exposed (or under-exposed) until up to
    a tenth of it saturates, tinted to colour, saved as a good JPEG."""
    crop = _mosaic_crop(images, rng)
    if rng.random() < _SATURATED_SHARE:
        flip = rng.random() < 0.5
        crop = 1 - crop if flip else crop
        crop = np.clip(rng.uniform(1.1, 1.5) * (crop - np.quantile(crop, rng.uniform(0.0, 0.1))), 0.0, 1.0)
        crop = (1 - crop if flip else crop).astype(np.float32)
    if rng.random() < _COLOUR_SHARE:
        gain, gamma = rng.uniform(0.6, 1.0, 3), rng.uniform(0.7, 1.4, 3)
        crop = (gain * crop[..., None] ** gamma).astype(np.float32)
    if rng.random() < _SOURCE_JPEG_SHARE:
        crop = add_noise(crop, "jpeg", {"quality": int(rng.integers(_SOURCE_JPEG_QUALITY[0],
                                                                    _SOURCE_JPEG_QUALITY[1] + 1))})
    return crop


def synthetic_set(images: list[np.ndarray], per_class: int, ranges: dict, rng: np.random.Generator, *,
                  log_scale: bool, desc: str = "samples") -> tuple[np.ndarray, np.ndarray]:
    """Features and class indices of ``per_class`` noisy crops of each class."""
    rows, labels = [], []
    for _ in tqdm(range(per_class), desc=desc, file=sys.stderr):
        for label, name in enumerate(CLASSES):
            source = training_source(images, rng)
            rows.append(features(add_class_noise(source, name, draw_params(ranges[name], rng, log_scale=log_scale),
                                                 rng)))
            labels.append(label)
    return np.array(rows, np.float32), np.array(labels, np.int64)


def fit(inputs: np.ndarray, labels: np.ndarray, *, hidden: int = 64, epochs: int = 200, batch: int = 256,
        seed: int = 0) -> NoiseClassifier:
    """Train a ``NoiseClassifier`` with AdamW and a cosine learning rate; repeatable for a seed on one machine."""
    torch.manual_seed(seed)
    model = NoiseClassifier(len(FEATURES), len(CLASSES), hidden)
    x, y = torch.from_numpy(inputs), torch.from_numpy(labels)
    model.mean.copy_(x.mean(dim=0))
    model.scale.copy_(x.std(dim=0).clamp_min(1e-6))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-3)
    batches = -(-len(x) // batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs * batches)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for chosen in order.split(batch):
            loss = nn.functional.cross_entropy(model(x[chosen]), y[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


# --------------------------------------------------------------------------------------- evaluation
def confusion(truth: list[str], predicted: list[str]) -> np.ndarray:
    """Counts of (true class, predicted class), rows and columns in ``CLASSES`` order."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    for true, guess in zip(truth, predicted):
        matrix[CLASSES.index(true), CLASSES.index(guess)] += 1
    return matrix


def report(matrix: np.ndarray) -> str:
    """Markdown: overall accuracy, per-class recall and the confusion matrix (rows: true class)."""
    recall = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    lines = [f"Overall accuracy: {matrix.trace() / max(matrix.sum(), 1):.1%} ({matrix.trace()}/{matrix.sum()})",
             "", "| true \\ predicted | " + " | ".join(CLASSES) + " | recall |",
             "|---" * (len(CLASSES) + 2) + "|"]
    for name, row, value in zip(CLASSES, matrix, recall):
        lines.append(f"| **{name}** | " + " | ".join(str(n) for n in row) + f" | {value:.1%} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- training
def _gray_images(files: list[Path]) -> list[np.ndarray]:
    images = [read_image(path)[0] for path in files]
    return [image.mean(axis=2) if image.ndim == 3 else image for image in images]


def train(*, out: str | Path, data: str | Path = TRAIN_DATA, per_class: int = 1500, val_images: int = 40,
          val_per_class: int = 100, hidden: int = 64, epochs: int = 200, seed: int = 0) -> Path:
    """Train the classifier on noisy crops of ``data`` and write ``<out>.safetensors``.

    The last ``val_images`` images (sorted by name) are held out: ``val_per_class`` crops per class
    from them, with noise drawn from ``EVAL_RANGES``, give the validation report printed at the end.

    Returns
    -------
    Path
        The weights file.
    """
    start = time.perf_counter()
    files = image_files(data)
    if len(files) <= val_images:
        raise InvalidImageError(f"{data}: {len(files)} images, need more than --val-images {val_images}")
    rng = np.random.default_rng(seed)
    inputs, labels = synthetic_set(_gray_images(files[:-val_images]), per_class, TRAIN_RANGES, rng,
                                   log_scale=True, desc="training samples")
    val_inputs, val_labels = synthetic_set(_gray_images(files[-val_images:]), val_per_class, EVAL_RANGES, rng,
                                           log_scale=False, desc="validation samples")
    model = fit(inputs, labels, hidden=hidden, epochs=epochs, seed=seed)
    with torch.inference_mode():
        guesses = model(torch.from_numpy(val_inputs)).argmax(dim=1).numpy()
    matrix = confusion([CLASSES[i] for i in val_labels], [CLASSES[i] for i in guesses])
    path = save_weights(out, model, {"features": ",".join(FEATURES), "classes": ",".join(CLASSES),
                                     "hidden": str(hidden), "samples": str(len(labels)), "seed": str(seed),
                                     "val_accuracy": f"{matrix.trace() / matrix.sum():.4f}"})
    print(f"validation on the last {val_images} images of {data}:\n{report(matrix)}\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, sha256 {sha256(path)}) "
          f"in {time.perf_counter() - start:.0f} s")
    return path
