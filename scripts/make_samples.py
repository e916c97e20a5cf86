"""Make ``sample_images/`` reproducibly from data shipped inside pip packages, and its README.

    python scripts/make_samples.py

Sources: scikit-image (``skimage.data``), pydicom and pydicom-data (DICOM test files), dipy (a real
diffusion MRI volume, ``dwi_b0.nii.gz``) and the MNI152
template inside the nilearn wheel (downloaded with ``pip download nilearn --no-deps`` when nilearn is
not installed; only nibabel is needed to read it), as a slice (``mri_brain.png``) and as a 2 mm
volume (``mri_volume.nii.gz``). The catalogue is ``denoise_core.samples.CATALOGUE``.
"""
from __future__ import annotations

import functools
import glob
import gzip
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoise_core.samples import CATALOGUE, SAMPLE_DIR  # noqa: E402

MAX_BYTES = 1_000_000
MNI_MEMBER = "nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
MNI_SLICE = 90
DWI_MEMBER = "data/files/S0_10slices.nii.gz"  # inside the dipy package
HUBBLE_ROWS, HUBBLE_COLS = slice(180, 692), slice(0, 512)

MNI_NOTICE = """\
Copyright (C) 1993–2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological
Institute, McGill University. Permission to use, copy, modify, and distribute this software and
its documentation for any purpose and without fee is hereby granted, provided that the above
copyright notice appear in all copies. The authors and McGill University make no representations
about the suitability of this software for any purpose. It is provided "as is" without express
or implied warranty. The authors are not responsible for any data loss, equipment damage,
property loss, or injury to subjects or patients resulting from the use or misuse of this
software package."""


def save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(array).save(path, optimize=True)


def make_camera(path: Path) -> None:
    from skimage import data
    save_png(path, data.camera())


def make_astronaut(path: Path) -> None:
    from skimage import data
    save_png(path, data.astronaut())


def make_coffee(path: Path) -> None:
    from skimage import data
    save_png(path, data.coffee())


def make_xray(path: Path) -> None:
    import cv2
    import pydicom
    from pydicom.data import get_testdata_file
    ds = pydicom.dcmread(get_testdata_file("RG3_UNCR.dcm"))
    pixels = ds.pixel_array
    small = cv2.resize(pixels, (512, 512), interpolation=cv2.INTER_AREA).astype(np.uint16)
    ds.PixelData = small.tobytes()
    ds.Rows, ds.Columns = small.shape
    ds.DerivationDescription = "Downsampled from 1760x1760 to 512x512 by area averaging (Denoise Workbench)"
    ds.save_as(path, enforce_file_format=True)


def make_ct(path: Path) -> None:
    from pydicom.data import get_testdata_file
    path.write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())


@functools.cache  # two samples come from it: download the wheel once
def mni_bytes() -> bytes:
    try:
        import nilearn
        return (Path(nilearn.__file__).parent / MNI_MEMBER.split("/", 1)[1]).read_bytes()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "nilearn", "--no-deps", "--quiet", "-d", folder],
                       check=True)
        wheel = glob.glob(f"{folder}/nilearn-*.whl")[0]
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(MNI_MEMBER)


def make_mri(path: Path) -> None:
    import nibabel
    image = nibabel.Nifti1Image.from_bytes(gzip.decompress(mni_bytes()))
    volume = np.asarray(image.dataobj, dtype=np.float64)
    axial = np.rot90(volume[:, :, MNI_SLICE])  # RAS: rows become anterior-up, left-right as radiologists see
    # nilearn's copy stores uint8 (0..255); x257 maps it exactly onto 0..65535 in a 16-bit PNG.
    scaled = np.round(np.clip(axial, 0, 255) * 257).astype(np.uint16)
    save_png(path, scaled)


def make_mri_volume(path: Path) -> None:
    """The whole MNI152 template at 2 mm: the mean of each 2×2×2 block (the odd last plane of each
    axis dropped), rounded to uint8, with the affine of the coarser grid; gzip without a timestamp so
    the file is the same on every run."""
    import nibabel
    image = nibabel.Nifti1Image.from_bytes(gzip.decompress(mni_bytes()))
    volume = np.asarray(image.dataobj, dtype=np.float64)
    x, y, z = (n // 2 * 2 for n in volume.shape)
    blocks = volume[:x, :y, :z].reshape(x // 2, 2, y // 2, 2, z // 2, 2).mean(axis=(1, 3, 5))
    coarse = np.round(np.clip(blocks, 0, 255)).astype(np.uint8)
    affine = image.affine.copy()
    affine[:3, 3] = image.affine[:3, :3] @ [0.5, 0.5, 0.5] + image.affine[:3, 3]  # centre of each block
    affine[:3, :3] = image.affine[:3, :3] * 2
    out = nibabel.Nifti1Image(coarse, affine)
    out.header.set_xyzt_units("mm")
    out.set_sform(affine, code=int(image.header["sform_code"]) or 2)
    out.set_qform(affine, code=int(image.header["sform_code"]) or 2)
    path.write_bytes(gzip.compress(out.to_bytes(), compresslevel=9, mtime=0))


def make_dwi(path: Path) -> None:
    """dipy's b=0 volume, copied byte for byte (the scanner's noise untouched)."""
    import dipy
    path.write_bytes((Path(dipy.__file__).parent / DWI_MEMBER).read_bytes())


def make_hubble(path: Path) -> None:
    """A 512×512 crop of the Hubble eXtreme Deep Field, saved losslessly (no new compression)."""
    from skimage import data
    save_png(path, data.hubble_deep_field()[HUBBLE_ROWS, HUBBLE_COLS])


MAKERS = {"camera": make_camera, "astronaut": make_astronaut, "coffee": make_coffee,
          "xray": make_xray, "ct": make_ct, "mri": make_mri, "mri_volume": make_mri_volume,
          "dwi": make_dwi, "hubble": make_hubble}


def readme() -> str:
    lines = ["# Sample images", "",
             "Generated by `python scripts/make_samples.py` from data shipped inside pip packages; this file",
             "is written by the same script from the catalogue in `denoise_core/samples.py`. Do not edit by hand.",
             "", "| File | Name | Kind | Size | Source | Licence |", "|---|---|---|---|---|---|"]
    for s in CATALOGUE:
        size = (SAMPLE_DIR / s.file).stat().st_size
        kind = s.modality or ("natural, colour" if s.color else "natural, gray")
        lines.append(f"| `{s.file}` | {s.name} | {kind} | {size / 1000:.0f} kB | {s.source} | {s.licence} |")
    lines += ["", "## Descriptions", ""]
    lines += [f"- **{s.file}** ({s.title}): {s.description}" for s in CATALOGUE]
    lines += ["", "## Licence notices", "",
              "### scikit-image images (camera.png, astronaut.png, coffee.png)", "",
              "As stated in the `skimage.data` docstrings: camera (Lav Varshney) and coffee (Rachel Michetti) are",
              "CC0, \"no copyright restrictions\"; astronaut is a NASA photograph with \"no known copyright",
              "restrictions, released into the public domain\".", "",
              "### DICOM files (xray_tibia.dcm, ct_small.dcm)", "",
              "From pydicom (`pydicom/data/test_files/CT_small.dcm`, MIT) and pydicom-data",
              "(`data_store/data/RG3_UNCR.dcm`, MIT License, Copyright (c) 2020 Dicom in Python). Both images",
              "originate from the NEMA WG04 compression test datasets (ftp://medical.nema.org/MEDICAL/Dicom/DataSets/WG04/).",
              "They are anonymised test data, not for diagnosis.", "",
              "### MNI152 template (mri_brain.png, mri_volume.nii.gz)", "",
              "The ICBM 2009a nonlinear symmetric template as shipped inside the nilearn wheel (nilearn is",
              "BSD-3-Clause, Copyright (c) The nilearn developers). nilearn's own dataset description lists its",
              "licence as \"unknown\"; the template's distributor, the McConnell Brain Imaging Centre, publishes it",
              "with this notice:", "", "```", MNI_NOTICE, "```", "",
              "Reference: V. Fonov, A. Evans, R. McKinstry, C. Almli, D. Collins, \"Unbiased nonlinear average",
              "age-appropriate brain templates from birth to adulthood\", NeuroImage 47 (2009) S102.", "",
              "### Real noise (dwi_b0.nii.gz, hubble_field.png)", "",
              "These two are already noisy, as recorded; there is no clean version of them, so the workbench",
              "shows what can be measured without one. `dwi_b0.nii.gz` is `dipy/data/files/S0_10slices.nii.gz`",
              "from the dipy 1.12.1 wheel (pinned in requirements.txt), unchanged. dipy's `LICENSE` (BSD-3-Clause,",
              "Copyright (c) 2008–2026, dipy developers) covers everything in the distribution \"unless otherwise",
              "specified by LICENSE.txt files in individual directories, or within individual files\"; its",
              "`data/files` folder has no such file. `hubble_field.png` is cut from scikit-image's",
              "`hubble_deep_field.jpg` (HubbleSite, release 2012-37), NASA imagery that, per the scikit-image",
              "docstring, \"may be freely used in the public domain\".", ""]
    return "\n".join(lines)


def main() -> int:
    SAMPLE_DIR.mkdir(exist_ok=True)
    for sample in CATALOGUE:
        path = SAMPLE_DIR / sample.file
        MAKERS[sample.name](path)
        size = path.stat().st_size
        print(f"{sample.file:20s} {size / 1000:8.1f} kB")
        if size > MAX_BYTES:
            print(f"error: {sample.file} is larger than {MAX_BYTES:,} bytes", file=sys.stderr)
            return 1
    (SAMPLE_DIR / "README.md").write_text(readme(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
