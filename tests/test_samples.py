"""denoise_core.samples: every sample loads, stays small, and the README lists it with its licence."""
from __future__ import annotations

import numpy as np
import pytest

from denoise_core import paths, samples
from denoise_core.errors import InvalidImageError
from denoise_core.image import to_source_units


@pytest.mark.parametrize("sample", samples.samples(), ids=lambda s: s.name)
def test_every_sample_loads_and_is_at_most_1_mb(sample):
    path = samples.sample_path(sample.name)
    assert path.name == sample.file and path.stat().st_size <= 1_000_000
    image, meta = samples.load_sample(sample.name)
    assert image.dtype == np.float32 and 0.0 <= image.min() < image.max() <= 1.0
    assert (image.ndim == 3) == sample.color == meta.color
    assert min(image.shape[:2]) >= 64
    assert sample.source and sample.licence and sample.title and sample.description


def test_catalogue_covers_gray_colour_xray_ct_and_mri_in_order():
    items = samples.samples()
    assert len({s.name for s in items}) == len(items)
    assert items[0].modality is None and not items[0].color
    assert any(s.modality is None and s.color for s in items)
    modalities = [s.modality for s in items]
    assert {"X-ray", "CT", "MRI"} <= set(modalities)
    first_medical = next(i for i, m in enumerate(modalities) if m is not None)
    assert all(m is None for m in modalities[:first_medical]) and all(m for m in modalities[first_medical:])


def test_medical_samples_keep_their_units():
    _, ct = samples.load_sample("ct")
    assert ct.format == "DICOM" and ct.modality == "CT" and ct.units == "HU" and ct.value_range[0] < 0
    _, xray = samples.load_sample("xray")
    assert xray.format == "DICOM" and xray.modality in ("CR", "DX") and xray.window is not None
    _, mri = samples.load_sample("mri")
    assert mri.bit_depth == 16


def test_the_mri_volume_is_the_mni_template_at_two_millimetres():
    image, meta = samples.load_sample("mri_volume")
    assert (meta.format, meta.bit_depth, meta.slices, meta.slice_index) == ("NIfTI", 8, 94, 47)
    assert image.shape == (116, 98) and meta.value_range[0] == 0.0  # 98 (R) × 116 (A), anterior up
    assert "slice 48 of 94" in meta.describe(image.shape)
    first, first_meta = samples.load_sample("mri_volume", slice=0)
    assert first_meta.slice_index == 0 and first_meta.value_range == meta.value_range
    # Slice 45 averages 1 mm slices 90 and 91; mri_brain.png is slice 90 (×257): block means of it match.
    slice45, meta45 = samples.load_sample("mri_volume", slice=45)
    brain, brain_meta = samples.load_sample("mri")
    fine = to_source_units(brain, brain_meta)[1:233, :196] / 257  # the volume dropped the last plane
    coarse = fine.reshape(116, 2, 98, 2).mean(axis=(1, 3))
    assert np.corrcoef(coarse.ravel(), to_source_units(slice45, meta45).ravel())[0, 1] > 0.97
    signal, background = next(s.roi for s in samples.samples() if s.name == "mri_volume")
    mean = lambda box: image[box[0]:box[0] + box[2], box[1]:box[1] + box[3]].mean()  # noqa: E731
    assert mean(signal) > 0.8 and mean(background) == 0.0  # white matter; air


def test_readme_lists_every_file_with_source_and_licence():
    text = (paths.SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for sample in samples.samples():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{sample.file}` |"))
        assert sample.licence in row and sample.source in row
    assert "Louis Collins" in text and "MIT" in text and "CC0" in text


def test_unknown_name_names_the_valid_ones():
    with pytest.raises(InvalidImageError, match="camera") as caught:
        samples.sample_path("lena")
    assert str(caught.value).startswith("lena") and "\n" not in str(caught.value)
    with pytest.raises(InvalidImageError):
        samples.load_sample("lena")
