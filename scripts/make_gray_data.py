"""Make the gray flagship's training folder: Train400 plus the luminance of the CBSD432 photographs.

    python scripts/make_gray_data.py [--out training_data/gray] [--data ../shared/data]

Writes ``OUT/cbsd432_*.png`` (the luminance, ITU-R BT.601, of each colour training photograph, 8-bit)
and ``OUT/train400_*.png`` (Train400 as it is). In sorted order the Train400 images come last, so
``train --val-images 8`` holds out the same eight images (``test_393`` … ``test_400``) as the earlier
gray models. CBSD432 is BSDS500 less the CBSD68 test images, so BSD68 is never trained on; its licence
allows research and education only.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "training_data" / "gray")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = image_files(args.data / "cbsd432")
    for path in photos:
        with Image.open(path) as photo:
            photo.convert("L").save(args.out / f"cbsd432_{path.stem}.png")
    train400 = image_files(args.data / "train400")
    for path in train400:
        shutil.copyfile(path, args.out / f"train400_{path.name}")
    print(f"{len(photos)} CBSD432 luminance images and {len(train400)} Train400 images in {args.out}")


if __name__ == "__main__":
    main()
