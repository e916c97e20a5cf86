"""Make the medical training and test slices of the per-modality models, from data inside packages.

    python scripts/make_medical_data.py [--out training_data/medical]

Writes ``OUT/{ct,xray,mri}/{train,test}/*.png``: 16-bit gray PNGs of each slice as the app reads it
(``read_image``: the file's modality values, min..max to [0, 1], MONOCHROME1 inverted), some also
downscaled by area averaging so the models see several resolutions. ``test`` slices are never used
for training; the model cards and ``benchmarks/medical_models.py`` report on them.

Sources (none of them is copied into the project; see each model card for the licences):
* pydicom-data and pydicom's test files (MIT; NEMA WG04 and others): CT ``693_UNCR`` (head),
  ``J2K_pixelrep_mismatch`` (skull base) and ``explicit_VR-UN`` (abdomen) (train), ``bad_sequence``
  (neck) (test); CR chest ``RG1_UNCR`` (train), CR tibia
  ``RG3_UNCR`` (test); MR shoulder ``MR2_UNCR`` (train), MR abdomen ``MR-SIEMENS-DICOM-WithOverlays``
  (test). Decoding the JPEG 2000 / JPEG-lossless files needs the pylibjpeg plugins of requirements.txt.
* Debian's ``mricron-data`` (``apt-get download``; BSD-3-Clause, Chris Rorden): the Colin27
  ``ch2better`` T1 brain at 0.5 mm (train).
* The sample images ``ct_small.dcm``, ``xray_tibia.dcm`` and ``mri_brain.png``, and axial slices 60
  and 120 of the MNI152 template they come from (test).
"""
from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from denoise_core.image import read_image  # noqa: E402
from denoise_core.samples import sample_path  # noqa: E402
from make_samples import mni_bytes  # noqa: E402

COLIN = "usr/share/mricron/templates/ch2better.nii.gz"


def pydicom_data(name: str) -> Path:
    import data_store
    return Path(data_store.__file__).parent / "data" / name


def pydicom_test_file(name: str) -> Path:
    from pydicom.data import get_testdata_file
    return Path(get_testdata_file(name))


def unit(values: np.ndarray) -> np.ndarray:
    """min..max -> [0, 1], as ``read_image`` maps a slice."""
    values = values.astype(np.float64)
    return (values - values.min()) / max(values.max() - values.min(), 1e-12)


def dicom_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a DICOM file in modality units, each mapped to [0, 1] like ``read_image``."""
    import pydicom
    from pydicom.pixels import apply_modality_lut
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        pixels = apply_modality_lut(ds.pixel_array, ds)
    frames = pixels if pixels.ndim == 3 else pixels[None]
    return [unit(frame) for frame in frames]


def shrink(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape
    size = (round(width / factor), round(height / factor))
    return cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_AREA).astype(np.float64)


def colin_volume() -> np.ndarray:
    """ch2better from Debian's mricron-data package, as a RAS volume (0.5 mm)."""
    import nibabel
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["apt-get", "download", "mricron-data"], cwd=folder, check=True, capture_output=True)
        deb = next(Path(folder).glob("mricron-data_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), folder], check=True)
        data = (Path(folder) / COLIN).read_bytes()
    image = nibabel.as_closest_canonical(nibabel.Nifti1Image.from_bytes(gzip.decompress(data)))
    return np.asarray(image.dataobj, dtype=np.float64)


def mni_slices(indices: tuple[int, ...]) -> dict[str, np.ndarray]:
    import nibabel
    image = nibabel.as_closest_canonical(nibabel.Nifti1Image.from_bytes(gzip.decompress(mni_bytes())))
    volume = np.asarray(image.dataobj, dtype=np.float64)
    return {f"mni_axial{k}": unit(np.rot90(volume[:, :, k])) for k in indices}


def sample(name: str) -> np.ndarray:
    return read_image(sample_path(name))[0].astype(np.float64)


def ct() -> tuple[dict, dict]:
    train = {}
    for name in ("693_UNCR", "explicit_VR-UN"):
        train[name] = dicom_frames(pydicom_data(f"{name}.dcm"))[0]
    train["J2K_pixelrep_mismatch"] = dicom_frames(pydicom_test_file("J2K_pixelrep_mismatch.dcm"))[0]
    train.update({f"{k}_{name}": shrink(v, factor) for k, v in list(train.items())
                  for name, factor in (("half", 2), ("quarter", 4))})
    test = {"bad_sequence": dicom_frames(pydicom_data("bad_sequence.dcm"))[0], "sample_ct_small": sample("ct")}
    return train, test


def xray() -> tuple[dict, dict]:
    chest = 1.0 - dicom_frames(pydicom_data("RG1_UNCR.dcm"))[0]  # MONOCHROME1: read inverted, bone bright
    train = {f"RG1_chest_1of{k}": shrink(chest, k) for k in (2, 3, 4)}
    tibia = 1.0 - dicom_frames(pydicom_data("RG3_UNCR.dcm"))[0]
    test = {"RG3_tibia_half": shrink(tibia, 2), "sample_xray_tibia": sample("xray")}
    return train, test


def mri() -> tuple[dict, dict]:
    volume = colin_volume()
    head = np.nonzero(volume.max(axis=(0, 1)) > 0.2 * volume.max())[0]
    train = {}
    for z in range(head[0] + 20, head[-1] - 10, 16):  # axial slices 8 mm apart, at 0.5 and 1 mm
        axial = unit(np.rot90(volume[:, :, z]))
        train[f"colin_axial{z}"] = axial
        train[f"colin_axial{z}_1mm"] = shrink(axial, 2)
    for y in range(60, volume.shape[1] - 60, 24):  # coronal slices 12 mm apart, at 1 mm
        train[f"colin_coronal{y}_1mm"] = shrink(unit(np.rot90(volume[:, y, :])), 2)
    shoulder = dicom_frames(pydicom_data("MR2_UNCR.dcm"))[0]
    train.update({"MR2_shoulder_half": shrink(shoulder, 2), "MR2_shoulder_quarter": shrink(shoulder, 4)})
    test = {"MR_abdomen": dicom_frames(pydicom_data("MR-SIEMENS-DICOM-WithOverlays.dcm"))[0], "sample_mri_brain": sample("mri"),
            **mni_slices((60, 120))}
    return train, test


def save(folder: Path, images: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        pixels = np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16)
        Image.fromarray(pixels).save(folder / f"{name}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "training_data" / "medical"))
    args = parser.parse_args()
    for modality, make in (("ct", ct), ("xray", xray), ("mri", mri)):
        train, test = make()
        save(Path(args.out) / modality / "train", train)
        save(Path(args.out) / modality / "test", test)
        pixels = sum(v.size for v in train.values())
        print(f"{modality}: {len(train)} training images ({pixels / 1e6:.1f} Mpx), {len(test)} test images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
