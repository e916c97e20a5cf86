"""Make the colour training and test images of the blind colour DnCNN, from data inside packages.

    python scripts/make_colour_data.py [--out training_data/colour] [--data ../shared/data/train400]

Writes ``OUT/train/*.png`` and ``OUT/test/*.png`` (8-bit RGB). ``test`` images are never used for
training; the model card reports on them.

* ``train/photo_*``: scikit-image's colour photographs (chelsea, motorcycle_left, rocket, ihc,
  retina), the few real colour photos that ship inside a package.
* ``train/tinted_*``: every Train400 image as the luminance of a colour image whose chroma is
  made up (``tint``): a few hues that follow the image's own brightness bands, so colour edges sit
  on luminance edges as they do in photographs, plus a slow colour cast. The network learns from
  them how the three channels of a natural image move together.
* ``test/``: scikit-image's astronaut and coffee (the app's colour samples), never trained on.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402
from denoise_core.image import read_image  # noqa: E402

SKIMAGE_DATA = Path(skdata.__file__).parent
TRAIN_PHOTOS = ("chelsea.png", "motorcycle_left.png", "rocket.jpg", "ihc.png", "retina.jpg")
TEST_PHOTOS = ("astronaut.png", "coffee.png")
BANDS = 4
"""Brightness bands of a tinted image, each with its own hue."""


def tint(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A colour image (H, W, 3) in [0, 1] with luminance ``gray`` and made-up chroma (see the module)."""
    smooth = cv2.GaussianBlur(gray, (0, 0), 2.0)
    centres = np.quantile(smooth, (np.arange(BANDS) + 0.5) / BANDS)
    closeness = -((smooth[..., None] - centres) ** 2) / (2 * max(float(np.std(smooth)) / BANDS, 1e-3) ** 2)
    share = np.exp(closeness - closeness.max(axis=2, keepdims=True))
    share /= share.sum(axis=2, keepdims=True)
    hues = rng.normal(0.0, rng.uniform(0.03, 0.15), size=(BANDS, 2))
    cast = cv2.GaussianBlur(rng.normal(0.0, 1.0, gray.shape + (2,)).astype(np.float32), (0, 0), max(gray.shape) / 6)
    cast *= rng.uniform(0.0, 0.06) / max(float(np.abs(cast).max()), 1e-6)
    cb, cr = np.moveaxis(share @ hues + cast, 2, 0)
    rgb = np.stack([gray + 1.402 * cr, gray - 0.344136 * cb - 0.714136 * cr, gray + 1.772 * cb], axis=2)
    return np.clip(rgb, 0.0, 1.0)


def save(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)).save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "training_data" / "colour"))
    parser.add_argument("--data", default=str(SHARED_DATA / "train400"), help="gray training images to tint")
    args = parser.parse_args(argv)
    out = Path(args.out)
    for split, names in (("train", TRAIN_PHOTOS), ("test", TEST_PHOTOS)):
        for name in names:
            save(out / split / f"photo_{Path(name).stem}.png", read_image(SKIMAGE_DATA / name)[0][..., :3])
    for index, path in enumerate(image_files(args.data)):
        gray = read_image(path)[0]
        gray = gray.mean(axis=2) if gray.ndim == 3 else gray
        save(out / "train" / f"tinted_{path.stem}.png", tint(gray, np.random.default_rng(index)))
    print(f"{out}: {len(list((out / 'train').glob('*.png')))} training and "
          f"{len(list((out / 'test').glob('*.png')))} test images")


if __name__ == "__main__":
    main()
