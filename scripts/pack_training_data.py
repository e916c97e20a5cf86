"""Pack the training images of scripts/train_gpu.sh into one small git-ignored folder that can travel.

    python scripts/pack_training_data.py [--out training_data/packed] [--data ../shared/data]
                                         [--medical training_data/medical] [--photos 96] [--seed 0] [--smoke]

Writes, as byte-for-byte copies (PNG and JPEG are compressed already: re-encoding saved under 1 %):

* ``OUT/train400/``: Train400 (400 gray 180×180 PNGs, 8.2 MB), the data of DnCNN-S, the U-Net and
  the noise specialists, and the last part of the gray flagship's data.
* ``OUT/cbsd432/``: ``--photos`` CBSD432 photographs (the original JPEGs, about 74 kB each), drawn
  without replacement by ``numpy.random.default_rng(--seed)``; all 432 would take 32 MB. The colour
  flagship trains on them; the gray flagship on them (their channel mean, as ``train`` reads a colour
  image for a gray model) followed by Train400, so that its last 8 images, the held-out ones, stay
  Train400's ``test_393`` … ``test_400``, as with scripts/make_gray_data.py.
* ``OUT/medical/{ct,mri,xray}/``: the training slices of scripts/make_medical_data.py (5.4 MB).
* ``OUT/manifest.json``: each folder's source, image count and bytes.

With the default 96 photographs (6.6 MiB) the pack is 19.6 MiB.

The folder travels with the working tree, which may not exceed 64 MiB in all: the packer refuses
in one line when the files git would send plus the pack pass that. ``--smoke`` packs a 64×64 crop of
a sample image per folder, from a temporary stand-in for the sources, into a temporary folder (or ``--out``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _smoke  # noqa: E402
from denoise_core.datasets import image_files  # noqa: E402
from denoise_core.paths import SHARED_DATA  # noqa: E402
from denoise_core.errors import DenoiseError, InvalidParameterError  # noqa: E402

TRAVEL_LIMIT = 64 * 2 ** 20
"""Bytes of working tree (tracked and untracked files git does not ignore, plus this pack) that may travel."""
MODALITIES = ("ct", "mri", "xray")


def photo_subset(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` images of ``folder`` drawn without replacement with ``seed``, in sorted order."""
    files = image_files(folder)
    if not 0 < count <= len(files):
        raise InvalidParameterError(f"--photos {count}: expected 1 to {len(files)} (the images in {folder})")
    picked = np.random.default_rng(seed).choice(len(files), size=count, replace=False)
    return [files[i] for i in sorted(picked)]


def sources(data: Path, medical: Path, photos: int, seed: int) -> dict[str, list[Path]]:
    """The files of each packed folder, keyed by the folder's path inside the pack."""
    missing = [str(medical / m / "train") for m in MODALITIES if not (medical / m / "train").is_dir()]
    if missing:
        raise InvalidParameterError(f"{missing[0]}: no such folder (run python scripts/make_medical_data.py "
                                    f"--out {medical} first)")
    return {"train400": image_files(data / "train400"), "cbsd432": photo_subset(data / "cbsd432", photos, seed),
            **{f"medical/{m}": image_files(medical / m / "train") for m in MODALITIES}}


def smoke_sources(root: Path) -> tuple[Path, Path]:
    """A stand-in under ``root`` for ``--data`` and ``--medical``: one sample crop per folder."""
    _smoke.folder("camera", into=root / "data" / "train400")
    _smoke.folder("astronaut", into=root / "data" / "cbsd432")
    for modality in MODALITIES:  # the sample images are named like the modalities
        _smoke.folder(modality, into=root / "medical" / modality / "train")
    return root / "data", root / "medical"


def travelling_bytes(out: Path) -> int:
    """Bytes of the files git would send with the working tree (tracked, untracked not ignored), ``out`` aside."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    paths = {ROOT / name for name in listed if name} - set(out.rglob("*"))
    return sum(path.stat().st_size for path in paths if path.is_file())


def clear(out: Path) -> None:
    """Remove an earlier pack at ``out``; refuse a folder that is not one."""
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            raise InvalidParameterError(f"{out}: not empty and not a pack of this script (no manifest.json); "
                                        "give another --out")
        shutil.rmtree(out)


def pack(out: Path, folders: dict[str, list[Path]]) -> dict:
    """Copy ``folders`` under ``out``; returns the manifest written beside them."""
    manifest = {}
    for name, files in folders.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copyfile(path, out / name / path.name)
        manifest[name] = {"source": str(files[0].parent), "images": len(files),
                          "bytes": sum(path.stat().st_size for path in files)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="default: training_data/packed (with --smoke a temporary folder)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="folder holding train400/ and cbsd432/")
    parser.add_argument("--medical", type=Path, default=ROOT / "training_data" / "medical",
                        help="output of scripts/make_medical_data.py")
    parser.add_argument("--photos", type=int, default=96, help="CBSD432 photographs to pack")
    parser.add_argument("--seed", type=int, default=0, help="seed of the photographs' draw")
    parser.add_argument("--smoke", action="store_true", help="one sample crop per folder, into a temporary folder")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "training_data" / "packed"
    if args.smoke:
        root = Path(tempfile.mkdtemp(prefix="smoke-"))
        (args.data, args.medical), args.photos, out = smoke_sources(root), 1, args.out or root / "packed"
    out = out.resolve()
    try:
        folders = sources(args.data, args.medical, args.photos, args.seed)
        size = sum(path.stat().st_size for files in folders.values() for path in files)
        tree = travelling_bytes(out)
        if tree + size > TRAVEL_LIMIT:
            raise InvalidParameterError(f"the working tree ({tree / 2 ** 20:.1f} MiB) and the pack "
                                        f"({size / 2 ** 20:.1f} MiB) pass the 64 MiB that may travel: "
                                        "lower --photos")
        clear(out)
        manifest = pack(out, folders)
    except DenoiseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, item in manifest.items():
        print(f"{name}: {item['images']} images, {item['bytes'] / 2 ** 20:.1f} MiB")
    print(f"{out}: {size / 2 ** 20:.1f} MiB (with the working tree {(tree + size) / 2 ** 20:.1f} of 64 MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
