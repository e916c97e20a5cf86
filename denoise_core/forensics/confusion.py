"""How often the noise classifier is right: its confusion matrix on synthetic noise over images it never saw.

The classifier was trained on the first 360 images of train400 (its model card); the held-out images are Set12
(``../shared/data/set12``) when present, else the shipped non-medical sample images. Each class gets
``per_class`` crops with noise drawn from ``classifier.training.EVAL_RANGES``. The matrix is computed once and
kept in the cache folder; the one made on Set12 ships as ``weights/noise_classifier_confusion.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..classifier.inference import CLASSES, WEIGHTS_SHA256
from ..datasets import image_files
from ..image import read_image
from ..paths import SHARED_DATA, WEIGHTS_DIR, cache_dir, write_atomically
from ..samples import sample_path, samples

SHIPPED = WEIGHTS_DIR / "noise_classifier_confusion.json"
PER_CLASS = 50
CROP = 128
SEED = 0
COMMAND = "python -m denoise_core confusion --out weights/noise_classifier_confusion.json"


def held_out() -> tuple[str, list[Path]]:
    """(name, files) of the held-out images: Set12 when present, else the shipped non-medical samples."""
    set12 = SHARED_DATA / "set12"
    if set12.is_dir() and image_files(set12):
        return "set12", image_files(set12)
    return "samples", [sample_path(s.name) for s in samples() if s.modality is None]


def _gray(path: Path) -> np.ndarray:
    image = read_image(path)[0]
    return image.mean(axis=2) if image.ndim == 3 else image


def measure(files: list[Path], *, per_class: int = PER_CLASS, crop: int = CROP, seed: int = SEED) -> np.ndarray:
    """Counts of (true class, predicted class) over ``per_class`` noisy ``crop``² crops per class of ``files``,
    rows and columns in ``CLASSES`` order."""
    import torch

    from ..classifier.features import features
    from ..classifier.inference import load_classifier
    from ..classifier.training import EVAL_RANGES, add_class_noise, confusion, draw_params

    images, rng = [_gray(path) for path in files], np.random.default_rng(seed)
    rows, truth = [], []
    for _ in range(per_class):
        for label in CLASSES:
            image = images[rng.integers(len(images))]
            top, left = (int(rng.integers(n - crop + 1)) for n in image.shape)
            piece = np.ascontiguousarray(image[top:top + crop, left:left + crop])
            rows.append(features(add_class_noise(piece, label, draw_params(EVAL_RANGES[label], rng), rng)))
            truth.append(label)
    with torch.inference_mode():
        guesses = load_classifier()(torch.from_numpy(np.stack(rows))).argmax(dim=1).numpy()
    return confusion(truth, [CLASSES[i] for i in guesses])


def document(source: str, files: list[Path], matrix: np.ndarray, *, per_class: int, crop: int, seed: int) -> dict:
    """The matrix with how it was made, as stored."""
    return {"classes": list(CLASSES), "matrix": matrix.tolist(), "accuracy": float(np.trace(matrix) / matrix.sum()),
            "held_out": source, "images": [p.name for p in files], "per_class": per_class, "crop": crop,
            "seed": seed, "classifier_sha256": WEIGHTS_SHA256, "noise": "classifier.training.EVAL_RANGES",
            "command": COMMAND}


def _matches(doc: dict, source: str, per_class: int, crop: int, seed: int) -> bool:
    return (doc.get("classifier_sha256") == WEIGHTS_SHA256 and doc.get("classes") == list(CLASSES)
            and (doc.get("held_out"), doc.get("per_class"), doc.get("crop"), doc.get("seed")) == (source, per_class,
                                                                                                 crop, seed))


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def held_out_confusion(*, per_class: int = PER_CLASS, crop: int = CROP, seed: int = SEED) -> dict:
    """The classifier's held-out confusion matrix (see ``document``): the shipped one when it was made the same
    way for these weights, else the cached one, else measured now (a minute or so) and cached."""
    source, files = held_out()
    cached = cache_dir() / "forensics" / f"confusion-{WEIGHTS_SHA256[:12]}-{source}-{per_class}-{crop}-{seed}.json"
    for path in (SHIPPED, cached):
        doc = _read(path) if path.exists() else None
        if doc is not None and _matches(doc, source, per_class, crop, seed):
            return doc
    doc = document(source, files, measure(files, per_class=per_class, crop=crop, seed=seed), per_class=per_class,
                   crop=crop, seed=seed)
    write_atomically(cached, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1)))
    return doc


def normalised(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its total: the share of each true class given each prediction (rows sum to 1)."""
    matrix = np.asarray(matrix, np.float64)
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
