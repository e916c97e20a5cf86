"""The sample images shipped in ``sample_images/``: one catalogue, the paths and a loader.

The files are made by ``scripts/make_samples.py`` from data inside pip packages (scikit-image,
pydicom, nilearn, dipy); that script also writes ``sample_images/README.md`` from :data:`CATALOGUE`.
The samples marked ``noisy`` hold real noise and have no clean reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .box import Box
from .errors import InvalidImageError
from .paths import SAMPLE_DIR
from .image import ImageMeta, read_image



@dataclass(frozen=True)
class Sample:
    """One sample image: ``name`` is its short id, ``file`` its file name in ``sample_images/``."""

    name: str
    file: str
    title: str
    modality: str | None  # None for natural photographs, else "X-ray", "CT" or "MRI"
    color: bool
    source: str
    licence: str
    description: str
    roi: tuple[Box, Box] | None = None
    """(signal, background) regions, for ROI metrics, SNR and CNR."""
    noisy: bool = False
    """Real noise, as recorded: the image is already noisy and has no clean reference."""


CATALOGUE: tuple[Sample, ...] = (
    Sample("camera", "camera.png", "Cameraman", None, False,
           "scikit-image `skimage.data.camera()` (photograph by Lav Varshney)",
           "CC0 (no copyright restrictions), per the scikit-image docs",
           "512×512 8-bit gray photograph: a man with a camera on a tripod; flat sky, fine grass texture."),
    Sample("astronaut", "astronaut.png", "Astronaut", None, True,
           "scikit-image `skimage.data.astronaut()` (NASA Great Images database, Eileen Collins)",
           "Public domain (no known copyright restrictions), per the scikit-image docs",
           "512×512 8-bit colour portrait: skin, flag stripes, fine fabric detail."),
    Sample("coffee", "coffee.png", "Coffee cup", None, True,
           "scikit-image `skimage.data.coffee()` (photograph by Rachel Michetti)",
           "CC0 (no copyright restrictions), per the scikit-image docs",
           "600×400 8-bit colour photograph of a cup of coffee: smooth gradients and specular highlights."),
    Sample("hubble", "hubble_field.png", "Hubble eXtreme Deep Field (real sensor noise)", None, True,
           "scikit-image `skimage.data.hubble_deep_field()`, the 512×512 crop at rows 180–692, columns 0–512, "
           "saved losslessly",
           "Public domain (NASA imagery, \"may be freely used in the public domain\"), per the scikit-image docs",
           "Real noise, no clean reference: 512×512 8-bit colour crop of a deep-sky exposure: galaxies on a dark "
           "sky whose grain is sensor and photon noise, spatially correlated by the processing and the JPEG "
           "the file was published as.",
           noisy=True),
    Sample("xray", "xray_tibia.dcm", "X-ray (CR) of the lower leg", "X-ray", False,
           "NEMA WG04 compression test set `RG3_UNCR` as shipped in pydicom-data (`data_store/data/RG3_UNCR.dcm`); "
           "downsampled from 1760×1760 to 512×512 by area averaging",
           "pydicom-data is MIT licensed (Copyright (c) 2020 Dicom in Python); the NEMA WG04 sample "
           "datasets are published by NEMA for public testing",
           "Computed radiography of the distal tibia, 10-bit stored, MONOCHROME1 (read inverted), with a "
           "window centre/width; kept as DICOM so the DICOM reader is exercised.",
           roi=(Box(140, 270, 40, 12), Box(100, 140, 60, 40))),  # fibula shaft; direct exposure beside the leg
    Sample("ct", "ct_small.dcm", "CT slice", "CT", False,
           "pydicom test file `CT_small.dcm` (`pydicom.data.get_testdata_file`), itself downsized to 128×128 "
           "from NEMA WG04 `CT1_UNC`",
           "pydicom is MIT licensed (its test files are distributed under the same licence); NEMA WG04 "
           "sample datasets are published for public testing",
           "128×128 16-bit CT slice, RescaleIntercept −1024 so values are Hounsfield units.",
           roi=(Box(14, 50, 18, 14), Box(84, 10, 16, 28))),  # vertebral body; paraspinal muscle
    Sample("mri", "mri_brain.png", "Brain MRI (T1, MNI152)", "MRI", False,
           "Axial slice 90 of the ICBM 2009a nonlinear symmetric MNI152 T1 template "
           "(`nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz` inside the nilearn "
           "wheel), rotated so the front of the head is up, values × 257 into 16 bits",
           "Template © 1993–2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological "
           "Institute, McGill University, under its permissive notice (see below); nilearn itself is "
           "BSD-3-Clause",
           "197×233 T1-weighted brain slice at 1 mm: grey/white matter contrast, dark ventricles. Stored as a "
           "16-bit PNG, but nilearn's copy of the template is 8-bit, so it holds 256 levels (value × 257).",
           roi=(Box(100, 120, 16, 16), Box(4, 4, 24, 40))),  # white matter; air (the classic MR SNR)
    Sample("mri_volume", "mri_volume.nii.gz", "Brain MRI volume (T1, MNI152, 2 mm)", "MRI", False,
           "The whole ICBM 2009a nonlinear symmetric MNI152 T1 template (the same file inside the nilearn "
           "wheel as `mri_brain.png`), downsampled to 2 mm by averaging 2×2×2 blocks, stored as uint8 NIfTI-1",
           "Template © 1993–2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological "
           "Institute, McGill University, under its permissive notice (see below); nilearn itself is "
           "BSD-3-Clause",
           "98×116×94 T1-weighted brain volume at 2 mm: 94 axial slices to move through with the slice "
           "picker (opens at the middle one); each slice is read in RAS orientation with the front of the "
           "head up.",
           roi=(Box(50, 60, 8, 8), Box(2, 2, 12, 20))),  # white matter; air, on the middle slice
    Sample("dwi", "dwi_b0.nii.gz", "Diffusion MRI b=0 (real scanner noise)", "MRI", False,
           "dipy's packaged `dipy/data/files/S0_10slices.nii.gz` (inside the dipy 1.12.1 wheel), copied unchanged",
           "BSD-3-Clause, the licence of the dipy package (Copyright (c) 2008–2026, dipy developers): its LICENSE "
           "covers the whole distribution and no other licence is given for this file",
           "Real noise, no clean reference: 128×128×10 b=0 (no diffusion weighting) brain volume at 2×2 mm in "
           "plane, 12-bit values in 16 bits, as the scanner recorded it. Its noise is the scanner's own: "
           "Rician in the dark background, stronger relative to the signal than on the template MRI.",
           noisy=True),
)


def samples() -> list[Sample]:
    """All sample images: natural gray, natural colour, then medical (X-ray, CT, MRI)."""
    return list(CATALOGUE)


def _get(name: str) -> Sample:
    for sample in CATALOGUE:
        if sample.name == name:
            return sample
    raise InvalidImageError(f"{name}: unknown sample image; valid names: {', '.join(s.name for s in CATALOGUE)}")


def is_noisy(name: str) -> bool:
    """Whether sample ``name`` is a real noisy image with no clean reference (False for an unknown name)."""
    return any(sample.noisy for sample in CATALOGUE if sample.name == name)


def sample_path(name: str) -> Path:
    """Path of a sample image file; raises InvalidImageError naming the valid names for an unknown one."""
    return SAMPLE_DIR / _get(name).file


def load_sample(name: str, *, slice: int | None = None) -> tuple[np.ndarray, ImageMeta]:
    """A sample image read with :func:`denoise_core.image.read_image` (float32 in [0, 1], meta);
    ``slice`` picks a slice of a volume sample (None: the middle one)."""
    sample = _get(name)
    path = SAMPLE_DIR / sample.file
    if not path.exists():
        raise InvalidImageError(f"{sample.file}: sample image is missing; run python scripts/make_samples.py")
    return read_image(path, slice=slice)
